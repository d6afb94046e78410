// The benchmark scenarios. Each run gets a fresh database cloned from the migrated template and
// a fresh service process with the roles it needs; load comes from another process.
import pg from 'pg';
import { PAYLOAD } from './baselines.ts';
import type { Knee, KneeStep } from './lib/knee.ts';
import { percentile } from './lib/stats.ts';
import { BENCH_ADMIN_TOKEN, runLoad, startService, type RunningService } from './lib/processes.ts';

export interface Scale {
  seconds: number;
  routingBacklog: number;
  fanoutSubscribers: number;
  fanoutMessages: number;
  receiveBacklog: number;
  /** Messages one stream drains in streamCarry. */
  streamBacklog: number;
  idleStreams: number;
  sseRate: number;
  classifyBacklog: number;
  /** Broadcast: streams open in one push process, messages published (one every 2 s). */
  broadcastStreams: number;
  broadcastMessages: number;
  broadcastIntervalMs: number;
  /** Rates the live-path knee ramp tries, in order, and how long each step lasts. */
  kneeRates: number[];
  kneeSeconds: number;
}

export interface FreshDatabase {
  url: string;
  query: pg.Pool['query'];
  drop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function register(service: RunningService, name: string, listenTo: string[] = []): Promise<string> {
  const reply = await fetch(`${service.url}/v1/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, listen_to: listenTo }),
  });
  if (reply.status !== 201) throw new Error(`register ${name}: ${reply.status} ${await reply.text()}`);
  return ((await reply.json()) as { token: string }).token;
}

async function count(db: FreshDatabase, table: string): Promise<number> {
  return Number((await db.query(`select count(*)::bigint as n from ${table}`)).rows[0].n);
}

async function waitForCount(db: FreshDatabase, table: string, expected: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if ((await count(db, table)) >= expected) return performance.now();
    if (performance.now() > deadline) throw new Error(`${table} did not reach ${expected} rows`);
    await sleep(50);
  }
}

/** SQL clients with known tokens (tok-<n>), each listening to its own user address and `address`. */
async function insertClients(db: FreshDatabase, n: number, address: string | undefined): Promise<void> {
  await db.query(`insert into switchyard.client (name, token_hash)
                  select 'c' || g, sha256(convert_to('tok-' || g, 'UTF8')) from generate_series(0, $1 - 1) g`, [n]);
  await db.query(`insert into switchyard.subscription (address, client_id) select 'user:' || name, id from switchyard.client where name ~ '^c[0-9]+$'`);
  if (address) await db.query(`insert into switchyard.subscription (address, client_id) select $1, id from switchyard.client where name ~ '^c[0-9]+$'`, [address]);
}

/** Log rows straight into the log, 1,000 per transaction, spread over 64 conversations (so over the lanes). */
async function insertBacklog(db: FreshDatabase, n: number, topicPrefix: string): Promise<void> {
  for (let done = 0; done < n; done += 1000) {
    await db.query(`
      insert into switchyard.message (id, lane, sender, to_address, conversation, payload)
      select switchyard.uuidv7(), switchyard.lane_of(t), 'user:bench', t, t, $2::jsonb
      from (select $3 || (g % 64) as t from generate_series(1, $1) g) s`, [Math.min(1000, n - done), JSON.stringify(PAYLOAD), topicPrefix]);
  }
}

export interface IngestResult { perSecond: number; p99: number; p50: number; lost: number; failed: number }

/** POST /v1/messages (or /batch with `perRequest` messages) from 50/16 connections; router role only. */
export async function ingest(db: FreshDatabase, scale: Scale, perRequest: number): Promise<IngestResult> {
  const service = await startService(db.url, 'router');
  try {
    const token = await register(service, 'publisher');
    const message = { to: 'topic:bench', payload: PAYLOAD };
    const body = perRequest === 1 ? JSON.stringify(message) : JSON.stringify({ messages: Array.from({ length: perRequest }, () => message) });
    const result = await runLoad<{ ok: number; non2xx: number; errors: number; durationSeconds: number; latencyMs: { p50: number; p99: number } }>('http', {
      url: service.url, path: perRequest === 1 ? '/v1/messages' : '/v1/messages/batch', token, body,
      connections: perRequest === 1 ? 50 : 16, durationSeconds: scale.seconds,
    });
    const accepted = result.ok * perRequest;
    const stored = await count(db, 'switchyard.message');
    return {
      perSecond: accepted / result.durationSeconds,
      p50: result.latencyMs.p50,
      p99: result.latencyMs.p99,
      // Requests still in flight when the load stops are committed but not counted as accepted:
      // only accepted messages missing from the log would be lost.
      lost: Math.max(0, accepted - stored),
      failed: result.non2xx + result.errors,
    };
  } finally {
    await service.stop();
  }
}

/** A backlog in the log, one recipient per message; the routing role alone drains it. Messages per second. */
export async function routingBacklog(db: FreshDatabase, scale: Scale): Promise<number> {
  await insertClients(db, 1, undefined);
  await db.query(`insert into switchyard.subscription (address, client_id) select 'topic:route-' || g, (select id from switchyard.client) from generate_series(0, 63) g`);
  await insertBacklog(db, scale.routingBacklog, 'topic:route-');
  await db.query('vacuum analyze switchyard.message');
  const started = performance.now();
  const service = await startService(db.url, 'routing');
  try {
    const done = await waitForCount(db, 'switchyard.delivery', scale.routingBacklog, 600_000);
    return scale.routingBacklog / ((done - started) / 1000);
  } finally {
    await service.stop();
  }
}

/** Messages to a topic with many subscribers: delivery rows written per second. */
export async function fanout(db: FreshDatabase, scale: Scale): Promise<number> {
  await insertClients(db, scale.fanoutSubscribers, 'topic:fan');
  await db.query('vacuum analyze switchyard.subscription');
  const service = await startService(db.url, 'routing');
  try {
    await sleep(500);
    const started = performance.now();
    await db.query(`select switchyard.publish('topic:fan', $1::jsonb) from generate_series(1, $2)`, [JSON.stringify(PAYLOAD), scale.fanoutMessages]);
    const rows = scale.fanoutSubscribers * scale.fanoutMessages;
    const done = await waitForCount(db, 'switchyard.delivery', rows, 600_000);
    return rows / ((done - started) / 1000);
  } finally {
    await service.stop();
  }
}

/**
 * The filter policies of the filtered fan-out: five kinds (attributes and payload, several
 * operators), each as a pair whose first matches FILTERED_MESSAGE and whose second does not.
 */
const FILTER_PAIRS: [unknown, unknown][] = [
  [{ type: ['order.created'] }, { type: ['order.cancelled'] }],
  [{ payload: { total: [{ numeric: ['>=', 100] }] } }, { payload: { total: [{ numeric: ['>=', 1000] }] } }],
  [{ headers: { tier: [{ 'anything-but': 'free' }] } }, { headers: { tier: [{ 'anything-but': ['pro', 'team'] }] } }],
  [{ headers: { region: [{ prefix: 'eu-' }] } }, { headers: { region: [{ prefix: 'us-' }] } }],
  [{ payload: { sku: [{ suffix: '-xl' }], coupon: [{ exists: false }] } }, { $or: [{ type: ['refund'] }, { payload: { sku: [{ suffix: '-s' }] } }] }],
];
const FILTERED_MESSAGE = { type: 'order.created', headers: { region: 'eu-west', tier: 'pro' }, payload: { ...PAYLOAD, total: 250, sku: 'shirt-xl' } };

/**
 * Like fanout, but every other subscriber carries a filter (FILTER_PAIRS in turn) and half of
 * those match: a quarter of the subscriptions are filtered out. Delivery rows written per second.
 */
export async function fanoutFiltered(db: FreshDatabase, scale: Scale): Promise<number> {
  await insertClients(db, scale.fanoutSubscribers, undefined);
  const filters = Array.from({ length: scale.fanoutSubscribers }, (_, i) => {
    if (i % 2 === 0) return null;
    const j = (i - 1) / 2; // index among the filtered
    return JSON.stringify(FILTER_PAIRS[Math.floor(j / 2) % FILTER_PAIRS.length]![j % 2]);
  });
  await db.query(`insert into switchyard.subscription (address, client_id, filter)
                  select 'topic:fan', c.id, f.filter::jsonb
                  from unnest($1::text[]) with ordinality as f(filter, n)
                  join switchyard.client c on c.name = 'c' || (f.n - 1)`, [filters]);
  await db.query('vacuum analyze switchyard.subscription');
  const service = await startService(db.url, 'routing');
  try {
    await sleep(500);
    const started = performance.now();
    await db.query(`select switchyard.publish('topic:fan', $1::jsonb, type => $2, headers => $3::jsonb) from generate_series(1, $4)`,
      [JSON.stringify(FILTERED_MESSAGE.payload), FILTERED_MESSAGE.type, JSON.stringify(FILTERED_MESSAGE.headers), scale.fanoutMessages]);
    const perMessage = filters.filter((f) => f === null).length + Math.floor(filters.filter((f) => f !== null).length / 2);
    const rows = perMessage * scale.fanoutMessages;
    const done = await waitForCount(db, 'switchyard.delivery', rows, 600_000);
    const extra = await count(db, 'switchyard.delivery') - rows;
    if (extra !== 0) throw new Error(`filtered fan-out wrote ${extra} rows more than the filters let through`);
    return rows / ((done - started) / 1000);
  } finally {
    await service.stop();
  }
}

/** Routing rules of the rules backlog: all watch every address, half read the payload; only the last ever matches. */
export const BENCH_RULES = 20;

/**
 * routingBacklog with BENCH_RULES routing rules: 19 that match none of the backlog (checked on
 * every message) and one that copies the messages of one of the 64 topics to topic:route-audit,
 * which another client listens to. Messages per second.
 */
export async function routingBacklogWithRules(db: FreshDatabase, scale: Scale): Promise<number> {
  for (let i = 0; i < BENCH_RULES - 1; i++) {
    const match = i % 2 === 0 ? { type: [`never.${i}`, { prefix: `nope.${i}.` }] } : { payload: { n: [{ numeric: ['>', 1000 + i] }], text: [{ suffix: `-${i}` }] } };
    await db.query(`select switchyard.put_routing_rule($1, $2::jsonb, array['topic:route-audit'])`, [`rule-${i}`, JSON.stringify(match)]);
  }
  await db.query(`select switchyard.put_routing_rule('rule-copy', $1::jsonb, array['topic:route-audit'], array['topic:route-0'])`,
    [JSON.stringify({ payload: { n: [{ numeric: ['=', PAYLOAD.n] }] } })]);
  await insertClients(db, 2, undefined);
  await db.query(`insert into switchyard.subscription (address, client_id) select 'topic:route-' || g, (select id from switchyard.client where name = 'c0') from generate_series(0, 63) g`);
  await db.query(`insert into switchyard.subscription (address, client_id) select 'topic:route-audit', id from switchyard.client where name = 'c1'`);
  await insertBacklog(db, scale.routingBacklog, 'topic:route-');
  const copies = Number((await db.query(`select count(*)::bigint as n from switchyard.message where to_address = 'topic:route-0'`)).rows[0].n);
  await db.query('vacuum analyze switchyard.message');
  const started = performance.now();
  const service = await startService(db.url, 'routing');
  try {
    const done = await waitForCount(db, 'switchyard.delivery', scale.routingBacklog + copies, 600_000);
    return scale.routingBacklog / ((done - started) / 1000);
  } finally {
    await service.stop();
  }
}

/** A backlog of `n` messages in the log, each queued for the client `name` and visible now. */
async function fillInbox(db: FreshDatabase, name: string, n: number): Promise<void> {
  await insertBacklog(db, n, 'topic:rx-');
  await db.query(`
    insert into switchyard.delivery (client_id, message_id, sort_key, visible_at)
    select (select id from switchyard.client where name = $1), id, created_at, now() from switchyard.message`, [name]);
  await db.query('vacuum analyze switchyard.delivery');
}

/**
 * From one client's backlog, messages per second: 4 HTTP consumers receiving 100 at a time and
 * acking, or (client) 4 consumers of @switchyard/client over WebSocket, prefetch 100, acks batched.
 */
export async function receiveAck(db: FreshDatabase, scale: Scale, via: 'http' | 'client' = 'http'): Promise<{ perSecond: number; left: number }> {
  const service = await startService(db.url, 'router,push');
  try {
    const token = await register(service, 'consumer');
    await fillInbox(db, 'consumer', scale.receiveBacklog);
    const result = await runLoad<{ acked: number; seconds: number }>(via === 'http' ? 'receive-ack' : 'receive-ack-client', {
      url: service.url, token, consumers: 4, max: 100, prefetch: 100, expected: scale.receiveBacklog, durationSeconds: Math.max(scale.seconds * 3, 10),
    });
    return { perSecond: result.acked / result.seconds, left: await count(db, 'switchyard.delivery') };
  } finally {
    await service.stop();
  }
}

interface StreamLatency { sent: number; failed: number; received: number; latencyMs: { p50: number; p99: number; max: number } }

/** Publish to stream receipt (SSE or WebSocket) at a steady rate, whole pipeline in one process. Latency in ms. */
export async function streamLatency(db: FreshDatabase, scale: Scale, transport: 'sse' | 'ws', rate = scale.sseRate): Promise<StreamLatency> {
  const service = await startService(db.url, 'router,routing,persistence,analytics,push');
  try {
    const publisherToken = await register(service, 'publisher');
    const subscriberToken = await register(service, 'subscriber', ['topic:latency']);
    return await runLoad<StreamLatency>('stream-latency', {
      url: service.url, publisherToken, subscriberToken, to: 'topic:latency', rate, durationSeconds: scale.seconds, warmupSeconds: 2, transport,
    });
  } finally {
    await service.stop();
  }
}

/**
 * The live path's segments, where streamLatency gives only the total: the same load at the same
 * rate over SSE, with two probe triggers in this database only (the service has none) that note
 * when each delivery row and each receipt is written. Joined to the log row's `created_at` and to
 * the client's send and receipt times (all on the one wall clock of this machine), each message
 * splits into five segments, in ms:
 * - ingest: publish sent -> its log row written (HTTP, authentication, checks, the group commit's queue);
 * - wake: log row written -> the routing statement starts (the append's commit, the stage's wake-up);
 * - route: routing statement starts -> the delivery row written (lane claim and log read);
 * - handoff: delivery row written -> the stream's claim writes its receipt (the routing commit, the
 *   push role's wake-up, the claim up to its auto-ack);
 * - send: receipt written -> the event read by the client (the claim's commit, its rows, the SSE write).
 * The triggers add a row write to each routing and each claim, and the run is a separate one, so
 * compare segments within a trace, not its total with streamLatency's.
 */
export async function streamTrace(db: FreshDatabase, scale: Scale, rate: number): Promise<Record<string, number>> {
  await db.query(`
    create unlogged table public.bench_routed (message_id uuid not null, routing_started timestamptz not null, written timestamptz not null);
    create unlogged table public.bench_claimed (message_id uuid not null, written timestamptz not null);
    create function public.bench_note_routed() returns trigger language plpgsql as $$
      begin insert into public.bench_routed values (new.message_id, new.enqueued_at, clock_timestamp()); return null; end $$;
    create function public.bench_note_claimed() returns trigger language plpgsql as $$
      begin insert into public.bench_claimed values (new.message_id, clock_timestamp()); return null; end $$;
    create trigger bench_routed after insert on switchyard.delivery for each row execute function public.bench_note_routed();
    create trigger bench_claimed after insert on switchyard.delivery_receipt for each row execute function public.bench_note_claimed();`);
  const service = await startService(db.url, 'router,routing,persistence,analytics,push');
  let load: StreamLatency & { trace: [string, number, number][] };
  try {
    const publisherToken = await register(service, 'publisher');
    const subscriberToken = await register(service, 'subscriber', ['topic:latency']);
    load = await runLoad('stream-latency', {
      url: service.url, publisherToken, subscriberToken, to: 'topic:latency', rate, durationSeconds: scale.seconds, warmupSeconds: 2, transport: 'sse', trace: true,
    });
  } finally {
    await service.stop();
  }
  const { rows } = await db.query<{ id: string; logged: number; routing: number; routed: number; claimed: number }>(`
    select m.id::text, extract(epoch from m.created_at) * 1000 as logged, extract(epoch from r.routing_started) * 1000 as routing,
           extract(epoch from r.written) * 1000 as routed, extract(epoch from c.written) * 1000 as claimed
    from switchyard.message m join public.bench_routed r on r.message_id = m.id join public.bench_claimed c on c.message_id = m.id
    where m.id = any ($1::uuid[])`, [load.trace.map(([id]) => id)]);
  const client = new Map(load.trace.map(([id, sent, received]) => [id, { sent, received }]));
  const segments: Record<string, number[]> = { ingest: [], wake: [], route: [], handoff: [], send: [], total: [] };
  for (const row of rows) {
    const { sent, received } = client.get(row.id)!;
    const [logged, routing, routed, claimed] = [row.logged, row.routing, row.routed, row.claimed].map(Number) as [number, number, number, number];
    segments.ingest!.push(logged - sent);
    segments.wake!.push(routing - logged);
    segments.route!.push(routed - routing);
    segments.handoff!.push(claimed - routed);
    segments.send!.push(received - claimed);
    segments.total!.push(received - sent);
  }
  const result: Record<string, number> = { rate, traced: rows.length, missing: load.sent - load.received + load.failed };
  for (const [name, samples] of Object.entries(segments)) {
    const sorted = [...samples].sort((a, b) => a - b);
    for (const p of [50, 90, 99]) result[`${name}P${p}`] = percentile(sorted, p);
  }
  return result;
}

/** A counter or a histogram's _sum or _count from the service's /metrics, for one label set (0 when absent). */
async function scrape(service: RunningService, series: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/**
 * What one stream can carry: one client's backlog drained through a single SSE stream, either
 * auto-acked (each claim deletes what it hands out) or leased (prefetch 100, the client acking
 * what it has read, one ack request at a time with everything read since the last). Messages per
 * second, and from the service's /metrics the stream's claims: how many, how many messages each
 * carried, their mean duration (from the claim's request to its rows, without the wait for a
 * wake-up), and the acks'.
 */
export async function streamCarry(db: FreshDatabase, scale: Scale, mode: 'auto' | 'lease'): Promise<Record<string, number>> {
  const service = await startService(db.url, 'router,push');
  try {
    const token = await register(service, 'consumer');
    await fillInbox(db, 'consumer', scale.streamBacklog);
    const claims = 'switchyard_inbox_operation_duration_seconds_count{operation="receive"}';
    const claimSeconds = 'switchyard_inbox_operation_duration_seconds_sum{operation="receive"}';
    const acks = 'switchyard_inbox_operation_duration_seconds_count{operation="ack"}';
    const ackSeconds = 'switchyard_inbox_operation_duration_seconds_sum{operation="ack"}';
    const before = await Promise.all([claims, claimSeconds, acks, ackSeconds].map((series) => scrape(service, series)));
    const drained = await runLoad<{ received: number; acked: number; seconds: number }>('stream-drain', {
      url: service.url, token, mode, prefetch: 100, expected: scale.streamBacklog, durationSeconds: 120,
    });
    const [claimCount, claimTime, ackCount, ackTime] = (await Promise.all([claims, claimSeconds, acks, ackSeconds].map((series) => scrape(service, series))))
      .map((after, i) => after - before[i]!) as [number, number, number, number];
    return {
      perSecond: drained.received / drained.seconds,
      claims: claimCount,
      perClaim: drained.received / claimCount,
      claimMs: (claimTime / claimCount) * 1000,
      acks: ackCount,
      perAck: ackCount === 0 ? 0 : drained.acked / ackCount,
      ackMs: ackCount === 0 ? 0 : (ackTime / ackCount) * 1000,
      left: await count(db, 'switchyard.delivery'),
    };
  } finally {
    await service.stop();
  }
}

/**
 * The live path's knee (bench/lib/knee.ts) for one stream, over SSE or WebSocket: one service, and
 * one load process that keeps its stream and its publisher's connections through the ramp (as
 * pg-boss's ramp keeps its one pg-boss), so that no step starts with a new process's cold code, a
 * new stream and new connections.
 */
export async function streamKnee(db: FreshDatabase, scale: Scale, transport: 'sse' | 'ws', onStep: (step: KneeStep) => void): Promise<Knee> {
  const service = await startService(db.url, 'router,routing,persistence,analytics,push');
  try {
    const publisherToken = await register(service, 'publisher');
    const subscriberToken = await register(service, 'subscriber', ['topic:knee']);
    return await runLoad<Knee>('stream-knee', {
      url: service.url, publisherToken, subscriberToken, to: 'topic:knee', rates: scale.kneeRates, durationSeconds: scale.kneeSeconds, warmupSeconds: 1, transport,
    }, (json) => onStep(JSON.parse(json) as KneeStep));
  } finally {
    await service.stop();
  }
}

/**
 * Broadcast to many live connections: every client listens to one topic with an SSE stream open
 * in one push process (routing and the router in another); one message every 2 s; the time from
 * publish to the last stream's receipt.
 */
export async function broadcast(db: FreshDatabase, scale: Scale, progress: (line: string) => void) {
  await insertClients(db, scale.broadcastStreams, 'topic:broadcast');
  const push = await startService(db.url, 'push', { SWITCHYARD_POOL_MAX: '20' });
  const core = await startService(db.url, 'router,routing,persistence,analytics');
  try {
    const publisherToken = await register(core, 'publisher');
    const result = await runLoad<{ open: number; failed: number; missing: number; duplicates: number; lastReceiptMs: { p50: number; p99: number; max: number } }>('broadcast', {
      url: push.url, publishUrl: core.url, publisherToken, prefix: 'tok-', count: scale.broadcastStreams, concurrency: 200, to: 'topic:broadcast',
      messages: scale.broadcastMessages, intervalMs: scale.broadcastIntervalMs,
    }, (line) => {
      const status = JSON.parse(line) as { ready?: boolean; open: number };
      progress(`${status.open} streams open${status.ready ? ', publishing' : ''}`);
    });
    return {
      open: result.open, failed: result.failed, missing: result.missing, duplicates: result.duplicates,
      p50: result.lastReceiptMs.p50, p99: result.lastReceiptMs.p99, max: result.lastReceiptMs.max,
    };
  } finally {
    await core.stop();
    await push.stop();
  }
}

/** Many idle streams (SSE or WebSocket) on one push process: resident memory per stream. */
export async function idleStreams(db: FreshDatabase, scale: Scale, transport: 'sse' | 'ws', progress: (line: string) => void) {
  await insertClients(db, scale.idleStreams, undefined);
  const service = await startService(db.url, 'push', { SWITCHYARD_POOL_MAX: '20' });
  try {
    await sleep(2_000);
    const before = service.rss();
    let after = 0;
    let healthMs = Number.NaN;
    const result = await runLoad<{ open: number; failed: number }>(transport === 'ws' ? 'idle-ws' : 'idle-sse', {
      url: service.url, prefix: 'tok-', count: scale.idleStreams, concurrency: 200, holdSeconds: 8,
    }, async (line) => {
      const status = JSON.parse(line) as { ready?: boolean; open: number };
      progress(`${status.open} streams open`);
      if (status.ready) {
        await sleep(4_000);
        after = service.rss();
        const t = performance.now();
        await fetch(`${service.url}/healthz`);
        healthMs = performance.now() - t;
      }
    });
    return { open: result.open, failed: result.failed, kbPerStream: (after - before) / 1024 / Math.max(1, result.open), rssMb: after / 1024 / 1024, healthMs };
  } finally {
    await service.stop();
  }
}

export interface OverloadResult {
  sustainedPerSecond: number;
  offeredPerSecond: number;
  acceptedPerSecond: number;
  refusedPerSecond: number;
  timeouts: number;
  failed: number;
  p99: number;
  rssMb: number;
  lost: number;
  lateCommits: number;
  drainSeconds: number;
}

/** Clients abandon a publish not answered this long after it was due. */
const OVERLOAD_CLIENT_TIMEOUT_MS = 10_000;
const OVERLOAD_CONNECTIONS = 256;

/**
 * Single publishes offered at 1.5x what the router (with routing in the same process) sustains (measured first, closed loop, in the
 * same run), open loop from many connections, rate limits off: how much is accepted and refused,
 * whether any client times out, the p99 of accepted publishes, the service's peak RSS, and
 * afterwards whether every accepted message is in the log (lost), how many were committed for a
 * client that had given up (lateCommits), and how long routing took to pass all of it after the
 * load stopped (drainSeconds).
 */
export async function overload(db: FreshDatabase, scale: Scale): Promise<OverloadResult> {
  const service = await startService(db.url, 'router,routing');
  try {
    const token = await register(service, 'publisher');
    const body = JSON.stringify({ to: 'topic:bench', payload: PAYLOAD });
    const sustained = await runLoad<{ ok: number; durationSeconds: number }>('http', {
      url: service.url, path: '/v1/messages', token, body, connections: 50, durationSeconds: scale.seconds,
    });
    const sustainedPerSecond = sustained.ok / sustained.durationSeconds;
    const before = await count(db, 'switchyard.message');
    let rss = service.rss();
    const sampler = setInterval(() => (rss = Math.max(rss, service.rss())), 200);
    let result;
    try {
      result = await runLoad<{
        sent: number; accepted: number; refused: number; timeouts: number; failed: number; offeredSeconds: number; latencyMs: { p99: number };
      }>('open-loop', {
        url: service.url, path: '/v1/messages', token, body, rate: Math.max(10, Math.round(sustainedPerSecond * 1.5)),
        durationSeconds: scale.seconds * 3, connections: OVERLOAD_CONNECTIONS, timeoutMs: OVERLOAD_CLIENT_TIMEOUT_MS,
      });
    } finally {
      clearInterval(sampler);
    }
    // Everything accepted was committed before its 202; wait for what is still in flight to settle.
    let stored = await count(db, 'switchyard.message');
    for (let stable = 0; stable < 3; stable += 1) {
      await sleep(200);
      const now = await count(db, 'switchyard.message');
      if (now !== stored) stable = -1;
      stored = now;
    }
    const written = stored - before;
    const loadEnded = performance.now();
    const drained = async () => Number((await db.query(`
      select count(*) filter (where oldest_pending_at is not null)::int as behind from switchyard.stage_lag() where stage = 'routing'`)).rows[0].behind) === 0;
    while (!(await drained())) {
      if (performance.now() - loadEnded > 600_000) throw new Error('routing did not drain the overload backlog in 10 minutes');
      await sleep(100);
    }
    const drainSeconds = (performance.now() - loadEnded) / 1000;
    return {
      sustainedPerSecond,
      offeredPerSecond: result.sent / result.offeredSeconds,
      acceptedPerSecond: result.accepted / result.offeredSeconds,
      refusedPerSecond: result.refused / result.offeredSeconds,
      timeouts: result.timeouts,
      failed: result.failed,
      p99: result.latencyMs.p99,
      rssMb: rss / 1024 / 1024,
      lost: Math.max(0, result.accepted - written),
      lateCommits: Math.max(0, written - result.accepted),
      drainSeconds,
    };
  } finally {
    await service.stop();
  }
}

/** Chat-sized texts, half of them spam-like, for the classification scenario. */
const CLASSIFY_TEXTS = [
  'Hi team, the deploy of the billing service is done; please check the dashboards and tell me if the error rate moves.',
  'WIN a FREE iPhone now!!! Click here to claim your prize, limited offer, send your bank details today to receive cash.',
  'Lunch at noon? The new place on the corner has a vegetarian menu and it is quiet enough to talk about the roadmap.',
  'Cheap meds online, no prescription needed, lowest prices guaranteed, order now and save 80% on your first purchase.',
];

/** A backlog on a classified topic, drained by one analytics worker (the starter model trained
 *  first): messages labelled per second, per worker, and how many the sampling policy skipped. */
export async function classify(db: FreshDatabase, scale: Scale): Promise<{ perSecond: number; sampledOut: number }> {
  await db.query(`insert into switchyard.topic_classifier (topic) values ('classify')`);
  // The upkeep role trains the starter model as soon as a topic is classified.
  const trainer = await startService(db.url, 'upkeep');
  try {
    const deadline = performance.now() + 120_000;
    while ((await count(db, 'switchyard.classifier_model')) === 0) {
      if (performance.now() > deadline) throw new Error('no starter model');
      await sleep(200);
    }
  } finally {
    await trainer.stop();
  }
  for (let done = 0; done < scale.classifyBacklog; done += 1000) {
    await db.query(`
      insert into switchyard.message (id, lane, sender, to_address, conversation, payload)
      select switchyard.uuidv7(), switchyard.lane_of('c' || (g % 64)), 'user:bench', 'topic:classify', 'c' || (g % 64),
             jsonb_build_object('text', ($2::text[])[1 + g % 4], 'n', g)
      from generate_series(1, $1) g`, [Math.min(1000, scale.classifyBacklog - done), CLASSIFY_TEXTS]);
  }
  await db.query('vacuum analyze switchyard.message');
  const service = await startService(db.url, 'analytics', { SWITCHYARD_STAGE_WORKERS: '1', SWITCHYARD_STAGE_WORKERS_MAX: '1' });
  const started = performance.now(); // from the moment it listens: process start-up is not classification
  try {
    // Done when the stage has passed every message (labelled or sampled out).
    const deadline = started + 600_000;
    for (;;) {
      const rollup = Number((await db.query(`select coalesce(sum(published), 0) as n from switchyard.analytics_minute where address = 'topic:classify'`)).rows[0].n);
      if (rollup >= scale.classifyBacklog) break;
      if (performance.now() > deadline) throw new Error('the analytics stage did not pass the backlog');
      await sleep(50);
    }
    const seconds = (performance.now() - started) / 1000;
    const labelled = await count(db, 'switchyard.message_label');
    return { perSecond: labelled / seconds, sampledOut: scale.classifyBacklog - labelled };
  } finally {
    await service.stop();
  }
}
