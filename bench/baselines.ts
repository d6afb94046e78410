// Baselines measured in the same run, on the same database: what PostgreSQL itself does with the
// simplest possible statements (the physical limit), and what pg-boss does with its own API.
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { uuidv7 } from '../src/messages/message-id.ts';
import { findKnee, type Knee, type KneeStep } from './lib/knee.ts';
import { runLoad } from './lib/processes.ts';
import { summarizeLatencies } from './lib/stats.ts';

export const PAYLOAD = { text: 'hello from the benchmark', n: 42, tags: ['a', 'b'] };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WARMUP_MS = 1_000;
/** The schema every pg-boss baseline runs in. */
const BOSS_SCHEMA = 'pgboss_bench';

async function withClients<T>(url: string, n: number, fn: (clients: pg.Client[]) => Promise<T>): Promise<T> {
  const clients = await Promise.all(Array.from({ length: n }, async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
  }));
  try {
    return await fn(clients);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

/** Rows per second into the message log itself: multi-row unnest INSERTs of 100 rows, 4 connections. */
export async function rawInsert(url: string, seconds: number): Promise<number> {
  const payload = JSON.stringify(PAYLOAD);
  return withClients(url, 4, async (clients) => {
    let rows = 0;
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(clients.map(async (client) => {
      while (performance.now() < deadline) {
        const ids = Array.from({ length: 100 }, () => uuidv7());
        await client.query(
          `insert into switchyard.message (id, lane, sender, to_address, conversation, payload)
           select id, 0, 'user:raw', 'topic:raw', 'topic:raw', $2::jsonb from unnest($1::uuid[]) as id`,
          [ids, payload],
        );
        rows += 100;
      }
    }));
    return rows / ((performance.now() - started) / 1000);
  });
}

/** Rows per second claimed and deleted from a plain table: DELETE ... FOR UPDATE SKIP LOCKED, 100 at a time, 2 workers. */
export async function skipLockedClaim(url: string, rows: number): Promise<number> {
  return withClients(url, 2, async (clients) => {
    const [setup] = clients;
    await setup!.query('drop table if exists public.bench_queue');
    await setup!.query('create table public.bench_queue (id bigint generated always as identity primary key, payload jsonb not null)');
    await setup!.query('insert into public.bench_queue (payload) select $2::jsonb from generate_series(1, $1)', [rows, JSON.stringify(PAYLOAD)]);
    await setup!.query('vacuum analyze public.bench_queue');
    let claimed = 0;
    const started = performance.now();
    await Promise.all(clients.map(async (client) => {
      for (;;) {
        const result = await client.query(`
          delete from public.bench_queue where id in (
            select id from public.bench_queue order by id limit 100 for update skip locked)
          returning id, payload`);
        claimed += result.rowCount ?? 0;
        if ((result.rowCount ?? 0) === 0) return;
      }
    }));
    const perSecond = claimed / ((performance.now() - started) / 1000);
    await setup!.query('drop table public.bench_queue');
    return perSecond;
  });
}

async function withBoss<T>(url: string, fn: (boss: PgBoss) => Promise<T>, listen = false): Promise<T> {
  const boss = new PgBoss({ connectionString: url, schema: BOSS_SCHEMA, max: 12, useListenNotify: listen, supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await boss.start();
  try {
    return await fn(boss);
  } finally {
    await boss.stop({ graceful: false, timeout: 5_000 });
  }
}

async function freshQueue(boss: PgBoss, name: string, notify = false): Promise<void> {
  await boss.deleteQueue(name).catch(() => undefined);
  await boss.createQueue(name, { notify });
}

/** pg-boss send(), one job per call, 8 concurrent senders: jobs per second. */
export async function pgBossSend(url: string, seconds: number): Promise<number> {
  return withBoss(url, async (boss) => {
    await freshQueue(boss, 'bench-send');
    let sent = 0;
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (performance.now() < deadline) {
        await boss.send('bench-send', PAYLOAD);
        sent += 1;
      }
    }));
    return sent / ((performance.now() - started) / 1000);
  });
}

/** pg-boss insert() of 1000 jobs per call: jobs per second. */
export async function pgBossInsert(url: string, seconds: number): Promise<number> {
  return withBoss(url, async (boss) => {
    await freshQueue(boss, 'bench-insert');
    let inserted = 0;
    const jobs = Array.from({ length: 1000 }, () => ({ data: PAYLOAD }));
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    while (performance.now() < deadline) {
      await boss.insert('bench-insert', jobs);
      inserted += jobs.length;
    }
    return inserted / ((performance.now() - started) / 1000);
  });
}

/**
 * pg-boss fetch() + complete() in batches of 100, 4 workers, from a backlog: jobs per second. The
 * job table is analyzed after the bulk insert, as our backlog and the SKIP LOCKED baseline's are:
 * without statistics the planner takes the new table for empty, and fetch + complete ran at
 * 3.9-4.8k/s against 13.9-16.1k/s analyzed (bench/RESULTS.md, eleventh session), so whether
 * autovacuum had come by before the drain decided the figure.
 */
export async function pgBossFetchComplete(url: string, jobs: number): Promise<number> {
  return withBoss(url, async (boss) => {
    await freshQueue(boss, 'bench-fetch');
    for (let i = 0; i < jobs; i += 1000) await boss.insert('bench-fetch', Array.from({ length: Math.min(1000, jobs - i) }, () => ({ data: PAYLOAD })));
    await withClients(url, 1, ([client]) => client!.query(`vacuum analyze ${BOSS_SCHEMA}.job`));
    let done = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (;;) {
        const batch = await boss.fetch('bench-fetch', { batchSize: 100 });
        if (batch.length === 0) return;
        await boss.complete('bench-fetch', batch.map((job) => job.id));
        done += batch.length;
      }
    }));
    return done / ((performance.now() - started) / 1000);
  });
}

/** pg-boss send to handler, LISTEN/NOTIFY on, at a steady rate: latency percentiles in ms. */
export async function pgBossLatency(url: string, rate: number, seconds: number) {
  return withBoss(url, (boss) => pgBossLatencyOn(boss, rate, seconds), true);
}

/** pg-boss's knee (bench/lib/knee.ts): the same send-to-handler path, ramped on one pg-boss. */
export async function pgBossKnee(url: string, rates: number[], seconds: number, onStep: (step: KneeStep) => void): Promise<Knee> {
  return withBoss(url, (boss) => findKnee(rates, async (rate) => {
    const r = await pgBossLatencyOn(boss, rate, seconds);
    return { rate, p50: r.p50, p99: r.p99, lost: r.sent - r.received };
  }, onStep), true);
}

/**
 * A bare Hono app answering 202 with no work (bench/bare-hono.ts, its own process), loaded as the
 * single-publish scenario is: the ceiling HTTP and Hono alone leave on this machine.
 */
export async function bareHono(seconds: number): Promise<{ perSecond: number; p99: number }> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'bare-hono.ts')], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`bare-hono exited with ${code}: ${output}`)));
    });
    const result = await runLoad<{ ok: number; durationSeconds: number; latencyMs: { p99: number } }>('http', {
      url, path: '/v1/messages', token: 'none', body: JSON.stringify({ to: 'topic:bench', payload: PAYLOAD }), connections: 50, durationSeconds: seconds,
    });
    return { perSecond: result.ok / result.durationSeconds, p99: result.latencyMs.p99 };
  } finally {
    child.kill('SIGTERM');
  }
}

async function pgBossLatencyOn(boss: PgBoss, rate: number, seconds: number) {
  await freshQueue(boss, 'bench-latency', true);
  const latencies: number[] = [];
  let received = 0;
  const start = performance.now();
  // The first second warms up (connections, plans) and is not measured, as for Switchyard's streams.
  const measureFrom = start + WARMUP_MS;
  await boss.work<{ t: number }>('bench-latency', { batchSize: 100, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    const now = performance.now();
    received += jobs.length;
    for (const job of jobs) if (job.data.t >= measureFrom) latencies.push(now - job.data.t);
  });
  const sends: Promise<unknown>[] = [];
  for (let next = start; next < measureFrom + seconds * 1000; next += 1000 / rate) {
    const wait = next - performance.now();
    if (wait > 1) await sleep(wait);
    sends.push(boss.send('bench-latency', { t: performance.now() }));
  }
  await Promise.all(sends);
  const deadline = Date.now() + 10_000;
  while (received < sends.length && Date.now() < deadline) await sleep(50);
  await boss.offWork('bench-latency');
  return { ...summarizeLatencies(latencies), sent: sends.length, received };
}
