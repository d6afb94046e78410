// The fault suite's scenarios. Each starts its own PostgreSQL (so that it may be restarted or
// crashed) and a fleet of service processes, runs publish and consume load with exact books,
// injects its fault, waits until everything accepted has been received, and reports.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { BENCH_ADMIN_TOKEN } from '../../bench/lib/processes.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { migrateToLatest, withMigrationDb } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';
import { Fleet } from './fleet.ts';
import { account, consumeLoop, countError, drained, longestOutageSeconds, newLedger, publishLoop, type Accounting, type Ledger } from './load.ts';

export interface Size {
  /** Seconds of load around each fault. */
  seconds: number;
  /** Messages per second per publisher (two publishers). */
  rate: number;
  /** How long the held transaction stays open. */
  holdSeconds: number;
}

export const FULL: Size = { seconds: 10, rate: 100, holdSeconds: 60 };
export const TINY: Size = { seconds: 2, rate: 25, holdSeconds: 4 };

export interface ScenarioResult extends Accounting {
  scenario: string;
  load: string;
  faults: string;
  /** Accepted messages that every consumer received. */
  delivered: number;
  /** Longest stretch without a 202, in seconds. */
  outageSeconds: number;
  /** From the end of the last fault until every accepted message was received, in seconds. */
  recoverySeconds: number;
  /** Anything else the scenario measures (the held transaction's delivery rate ratio). */
  notes: string;
}

const ALL_ROLES = 'router,routing,persistence,analytics,push,upkeep';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = createLogger('silent');

interface Rig {
  database: EmbeddedPostgres;
  port: number;
  fleet: Fleet;
  ledger: Ledger;
  startDatabase(): Promise<void>;
  /** A direct connection to the database, for faults made in SQL. */
  sql(): Promise<pg.Client>;
  stopLoad(): Promise<void>;
}

/** A database, one all-roles service, two publishers and two consumers (long poll and SSE). */
async function rig(size: Size, run: (rig: Rig) => Promise<{ faults: string; notes?: string }>, name: string, options: { publishers?: boolean } = {}): Promise<ScenarioResult> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `switchyard-chaos-${name}-`));
  const start = (port: number) => startEmbeddedPostgres({ dataDir, port, log, settings: { max_connections: '200' } });
  let database = await start(0);
  const port = Number(new URL(database.url).port);
  await withMigrationDb(database.url, log, migrateToLatest);
  const fleet = new Fleet(database.url, { SWITCHYARD_SHUTDOWN_TIMEOUT_MS: '3000', ...(process.env.CHAOS_DUMP_LOGS ? { LOG_LEVEL: 'error' } : {}) });
  const stopPublishing = new AbortController();
  const stopConsuming = new AbortController();
  const ledger = newLedger();
  try {
    await fleet.add(ALL_ROLES);
    const admin = adminApi(fleet.urls('router')[0]!);
    const register = async (name: string, listenTo: string[] = []) => (await admin('POST', '/v1/clients', { name, listen_to: listenTo })).token as string;
    const publishers = [await register('pub-a'), await register('pub-b')];
    const consumers = [{ name: 'sub-poll', token: await register('sub-poll', ['topic:chaos']), transport: 'poll' as const },
      { name: 'sub-sse', token: await register('sub-sse', ['topic:chaos']), transport: 'sse' as const }];
    const publishing = options.publishers === false ? [] : publishers.map((token, i) => publishLoop({
      token, routers: () => fleet.urls('router'), to: 'topic:chaos', rate: size.rate, signal: stopPublishing.signal, ledger, offset: i,
    }));
    const consuming = consumers.map((c, i) => consumeLoop({
      name: c.name, token: c.token, pushes: () => fleet.urls('push'), transport: c.transport, signal: stopConsuming.signal, ledger, offset: i, visibilitySeconds: 10,
    }));
    let stopped = false;
    const stopLoad = async () => {
      if (stopped) return;
      stopped = true;
      stopPublishing.abort();
      await Promise.all(publishing);
    };
    const outcome = await run({
      get database() {
        return database;
      },
      port, fleet, ledger,
      startDatabase: async () => {
        database = await start(port);
      },
      sql: async () => {
        const client = new pg.Client({ connectionString: database.url });
        client.on('error', () => undefined);
        await client.connect();
        return client;
      },
      stopLoad,
    });
    const faultEnded = performance.now();
    await stopLoad();
    // Two minutes, or more for a big backlog (overload accepts tens of thousands at full size).
    const complete = await drained(ledger, Math.max(120_000, ledger.accepted.size * 5));
    const recoverySeconds = (performance.now() - faultEnded) / 1000;
    stopConsuming.abort();
    await Promise.all(consuming);
    const books = account(ledger);
    const delivered = [...ledger.accepted].filter((id) => [...ledger.received.values()].every((seen) => seen.has(id))).length;
    return {
      scenario: name, load: `2 publishers at ${size.rate}/s, consumers by long poll and SSE`, faults: outcome.faults, ...books, delivered,
      outageSeconds: longestOutageSeconds(ledger), recoverySeconds: complete ? recoverySeconds : Number.NaN, notes: outcome.notes ?? '',
    };
  } finally {
    stopPublishing.abort();
    stopConsuming.abort();
    if (process.env.CHAOS_DUMP_LOGS) for (const m of fleet.members) process.stderr.write(m.service?.output() ?? "")
    await fleet.stop();
    await database.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function adminApi(url: string) {
  return async (method: string, route: string, body?: unknown) => {
    const reply = await fetch(url + route, {
      method, headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    return reply.json() as Promise<Record<string, unknown>>;
  };
}

export const SCENARIOS: Record<string, (size: Size) => Promise<ScenarioResult>> = {
  'sigkill-service': (size) => rig(size, async ({ fleet }) => {
    for (let round = 0; round < 3; round++) {
      await pause(size.seconds * 1000);
      await fleet.kill(fleet.members[0]!);
      await fleet.restart(fleet.members[0]!);
    }
    await pause(size.seconds * 1000);
    return { faults: 'SIGKILL of the service, restarted at once, 3 times' };
  }, 'sigkill-service'),

  'postgres-restart-fast': (size) => rig(size, async (r) => {
    await pause(size.seconds * 1000);
    await r.database.stop('fast');
    await pause(1_000);
    await r.startDatabase();
    await pause(size.seconds * 1000);
    return { faults: 'PostgreSQL fast shutdown, down 1 s, restarted' };
  }, 'postgres-restart-fast'),

  'postgres-restart-immediate': (size) => rig(size, async (r) => {
    await pause(size.seconds * 1000);
    await r.database.stop('immediate');
    await pause(1_000);
    await r.startDatabase();
    await pause(size.seconds * 1000);
    return { faults: 'PostgreSQL immediate shutdown (crash, WAL recovery), down 1 s, restarted' };
  }, 'postgres-restart-immediate'),

  'terminate-storm': (size) => rig(size, async (r) => {
    await pause(size.seconds * 1000);
    const sql = await r.sql();
    let killed = 0;
    const until = performance.now() + size.seconds * 1000;
    while (performance.now() < until) {
      const result = await sql.query(`select count(*) filter (where pg_terminate_backend(pid)) as killed from pg_stat_activity
        where application_name like 'switchyard:%' and pid <> pg_backend_pid()`);
      killed += Number(result.rows[0].killed);
      await pause(200);
    }
    await sql.end();
    await pause(size.seconds * 1000);
    return { faults: `pg_terminate_backend on every service connection every 200 ms for ${size.seconds} s (${killed} killed)` };
  }, 'terminate-storm'),

  'held-transaction': (size) => rig(size, async (r) => {
    const received = () => [...r.ledger.received.values()].reduce((sum, seen) => sum + seen.size, 0);
    await pause(1_000);
    const before0 = received();
    await pause(size.holdSeconds * 500);
    const rateBefore = (received() - before0) / (size.holdSeconds / 2);
    const holder = await r.sql();
    await holder.query('begin');
    await holder.query('select pg_current_xact_id()'); // an xid: vacuum and every snapshot must wait for it
    const during0 = received();
    await pause(size.holdSeconds * 1000);
    const rateDuring = (received() - during0) / size.holdSeconds;
    await holder.query('rollback');
    await holder.end();
    return {
      faults: `a transaction with an xid held open ${size.holdSeconds} s by another session`,
      notes: `delivery rate while held: ${(rateDuring / rateBefore * 100).toFixed(0)}% of before (${rateDuring.toFixed(0)}/s against ${rateBefore.toFixed(0)}/s)`,
    };
  }, 'held-transaction'),

  overload: (size) => rig(size, async (r) => {
    // What one process sustains (closed loop, 50 connections), then 1.5 times that offered open
    // loop: with admission control the excess must be refused at once (503 Overloaded, 429), never
    // left to time out, and everything accepted must drain.
    const url = r.fleet.urls('router')[0]!;
    const token = (await adminApi(url)('POST', '/v1/clients', { name: 'overloader' })).token as string;
    const send = (signal: AbortSignal) => fetch(`${url}/v1/messages`, {
      method: 'POST', signal, body: JSON.stringify({ to: 'topic:chaos', payload: { overload: true } }),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    let closedLoop = 0;
    const measureUntil = performance.now() + size.seconds * 1000;
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (performance.now() < measureUntil) {
        const reply = await send(AbortSignal.timeout(10_000)).catch(() => undefined);
        if (reply?.status === 202) {
          r.ledger.accepted.add(((await reply.json()) as { id: string }).id);
          closedLoop += 1;
        } else await reply?.body?.cancel();
      }
    }));
    const sustained = closedLoop / size.seconds;
    const offered = Math.max(20, Math.round(sustained * 1.5));
    const pending: Promise<void>[] = [];
    const until = performance.now() + size.seconds * 1000;
    for (let n = 0; performance.now() < until; n++) {
      const due = n * (1000 / offered);
      const wait = due - (performance.now() - (until - size.seconds * 1000));
      if (wait > 0) await pause(wait);
      pending.push(send(AbortSignal.timeout(10_000)).then(async (reply) => {
        if (reply.status === 202) {
          r.ledger.accepted.add(((await reply.json()) as { id: string }).id);
          r.ledger.acceptedAt.push(performance.now());
        } else {
          countError(r.ledger, String(reply.status));
          await reply.body?.cancel();
        }
      }, (error: Error) => countError(r.ledger, error.name === 'TimeoutError' ? 'client timeout' : 'network')));
    }
    await Promise.all(pending);
    return { faults: `offered ${offered}/s open loop, 1.5x the ${sustained.toFixed(0)}/s one process sustained (closed loop, 50 connections)` };
  }, 'overload', { publishers: false }),

  'sql-publish-out-of-order': (size) => rig(size, async (r) => {
    // Callers of switchyard.publish() inside their own transactions, committing in random order
    // after random delays, a fifth of them rolling back: only the commits may be delivered.
    const callers = await Promise.all(Array.from({ length: 8 }, () => r.sql()));
    const until = performance.now() + size.seconds * 1000;
    let rolledBack = 0;
    await Promise.all(callers.map(async (caller) => {
      while (performance.now() < until) {
        try {
          await caller.query('begin');
          const { rows } = await caller.query("select switchyard.publish('topic:chaos', jsonb_build_object('sql', true)) as id");
          await pause(Math.random() * 20);
          if (Math.random() < 0.2) {
            await caller.query('rollback');
            rolledBack += 1;
          } else {
            await caller.query('commit');
            r.ledger.accepted.add(rows[0].id as string);
            r.ledger.acceptedAt.push(performance.now());
          }
        } catch (error) {
          countError(r.ledger, `sql ${(error as { code?: string }).code ?? 'error'}`);
          await caller.query('rollback').catch(() => undefined);
        }
      }
    }));
    await Promise.all(callers.map((caller) => caller.end()));
    return { faults: `8 SQL publish() callers, random commit delays 0-20 ms, ${rolledBack} rolled back` };
  }, 'sql-publish-out-of-order', { publishers: false }),
};
