// /metrics: the throughput counters and processing-time histograms of the process, the numbers of
// the whole system (queues, stages, dead letters, the scaling signal), HTTP metrics by route
// pattern, and a scrape that stays small and quick with 100,000 client queues.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { refreshQueueStats } from '../src/inbox/queue-stats.repository.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, publish, registerClient } from './helpers/factories.ts';
import { api } from './helpers/http.ts';
import { startTestService, type TestService } from './helpers/service.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  return text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    return { name: match[1]!, labels, value: Number(match[3]) };
  });
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function scrape(url: string, token?: string): Promise<Sample[]> {
  const reply = await api(url, token).get('/metrics');
  expect(reply.status, String(reply.body)).toBe(200);
  expect(reply.headers.get('content-type')).toContain('text/plain');
  return parse(reply.body as string);
}

describe('a running service', () => {
  let database: TestDatabase;
  let service: TestService;

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startTestService(database.url, {}, { metrics: { cacheMs: 0 } });
  });

  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  test('counts what happens to messages and times it, per stage and operation', async () => {
    const ann = await registerClient(service.admin, 'ann', ['topic:news']);
    const bob = await registerClient(service.admin, 'bob');
    for (let i = 0; i < 3; i++) await publish(bob, { to: 'topic:news', payload: i });
    const received = await eventually(async () => {
      const reply = await ann.api.get('/v1/inbox?wait=1&max=10');
      return reply.body.messages.length > 0 ? reply.body.messages as { receipt: string }[] : undefined;
    });
    await ann.api.post('/v1/inbox/ack', { receipts: received.map((m) => m.receipt) });
    await ann.api.get('/v1/admin/clients/123'); // 403: a client on an admin route
    await service.anonymous.get('/nowhere');
    await bob.api.raw('POST', '/v1/messages', 'x', { 'content-type': 'text/plain' }); // 415 from the app's middleware

    // The stages handle the messages after the publishes returned: wait for all three.
    const samples = await eventually(async () => {
      const s = await scrape(service.url);
      return ['routing', 'persistence', 'analytics'].every((stage) => (value(s, 'switchyard_stage_messages_total', { stage }) ?? 0) >= 3) ? s : undefined;
    });
    expect(value(samples, 'switchyard_messages_published_total')).toBe(3);
    expect(value(samples, 'switchyard_messages_delivered_total')).toBe(received.length);
    expect(value(samples, 'switchyard_messages_acked_total')).toBe(received.length);
    expect(value(samples, 'switchyard_messages_dead_lettered_total', { reason: 'max_receives' })).toBe(0);
    expect(value(samples, 'switchyard_stage_batch_duration_seconds_count', { stage: 'routing' })).toBeGreaterThan(0);
    expect(value(samples, 'switchyard_inbox_operation_duration_seconds_count', { operation: 'ack' })).toBe(1);
    expect(value(samples, 'switchyard_ingest_flush_duration_seconds_count')).toBeGreaterThan(0);
    expect(value(samples, 'switchyard_stage_workers', { stage: 'routing' })).toBe(1);
    expect(value(samples, 'switchyard_backpressure_active')).toBe(0);
    // Node's process metrics are there. Not > 0: Linux counts CPU time in 10 ms ticks, and a service
    // that has handled a few requests may not have been caught running by one (seen in a full run).
    expect(value(samples, 'process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);

    // HTTP: by route pattern, never by raw path.
    expect(value(samples, 'switchyard_http_requests_total', { method: 'POST', route: '/v1/messages', status_class: '2xx' })).toBe(3);
    expect(value(samples, 'switchyard_http_requests_total', { route: '/v1/admin/clients/:id', status_class: '4xx' })).toBe(1);
    expect(value(samples, 'switchyard_http_requests_total', { method: 'GET', route: 'unmatched', status_class: '4xx' })).toBe(1);
    expect(value(samples, 'switchyard_http_requests_total', { method: 'POST', route: '/v1/messages', status_class: '4xx' })).toBe(1);
    expect(samples.filter((s) => s.labels.route?.includes('123') || s.labels.route?.includes('nowhere'))).toEqual([]);
  });

  test('reports the queues, the deepest ones by client, stage lag and the scaling signal', async () => {
    const carl = await registerClient(service.admin, 'carl', ['topic:backlog']);
    const dora = await registerClient(service.admin, 'dora');
    for (let i = 0; i < 5; i++) await publish(dora, { to: 'topic:backlog', payload: i });
    await eventually(async () => {
      const n = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where client_id = ${carl.id}`.execute(database.db);
      return n.rows[0]!.n === 5 ? true : undefined;
    });
    await database.db.transaction().execute((tx) => refreshQueueStats(tx)); // the upkeep role does this in production
    const samples = await scrape(service.url);
    expect(value(samples, 'switchyard_queue_top_depth', { client: 'carl', client_id: carl.id })).toBe(5);
    expect(value(samples, 'switchyard_queue_messages', { state: 'visible' })).toBeGreaterThanOrEqual(5);
    expect(value(samples, 'switchyard_queues_by_depth', { le: '10' })).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'switchyard_queues_by_depth', { le: '+Inf' })).toBe(value(samples, 'switchyard_queues'));
    expect(value(samples, 'switchyard_queue_oldest_message_age_seconds')).toBeGreaterThanOrEqual(0);
    for (const stage of ['routing', 'persistence', 'analytics']) {
      expect(value(samples, 'switchyard_stage_lag_seconds', { stage })).toBeGreaterThanOrEqual(0);
      expect(value(samples, 'switchyard_stage_rows_behind', { stage })).toBeGreaterThanOrEqual(0);
    }
    for (const role of ['router', 'routing', 'persistence', 'analytics', 'push', 'upkeep']) {
      expect(value(samples, 'switchyard_recommended_workers', { role })).toBeGreaterThanOrEqual(1);
    }
    expect(value(samples, 'switchyard_dead_letters', { reason: 'overflow' })).toBe(0);
  });
});

describe('a stalled stage', () => {
  let database: TestDatabase;
  let service: TestService;

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startTestService(database.url, {
      SWITCHYARD_ROLES: 'router,push', // no stage runs: every stage falls behind
      SWITCHYARD_METRICS_TOKEN: 'metrics-token-0123456789abcdef0123456789',
      SWITCHYARD_BACKPRESSURE_LAG_SECONDS: '1',
      SWITCHYARD_SCALE_STAGE_ROWS_PER_WORKER: '2',
      SWITCHYARD_SCALE_STAGE_LAG_SECONDS_PER_WORKER: '3600',
      SWITCHYARD_SCALE_MAX_WORKERS: '4',
    }, { metrics: { cacheMs: 0 }, delivery: { statsMs: 100 } });
  });

  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  test('shows rows behind, backpressure, and more workers recommended for the stages; the metrics token is needed', async () => {
    const erin = await registerClient(service.admin, 'erin');
    for (let i = 0; i < 5; i++) await publish(erin, { to: 'topic:void', payload: i });

    expect((await service.anonymous.get('/metrics')).body.code).toBe('TokenMissing');
    expect((await api(service.url, 'not-the-metrics-token').get('/metrics')).body.code).toBe('TokenInvalid');
    expect((await service.admin.get('/metrics')).status).toBe(401); // the admin token is not the metrics token

    const samples = await eventually(async () => {
      const s = await scrape(service.url, 'metrics-token-0123456789abcdef0123456789');
      return value(s, 'switchyard_backpressure_active') === 1 ? s : undefined;
    }, 10_000, 'backpressure');
    expect(value(samples, 'switchyard_stage_rows_behind', { stage: 'routing' })).toBe(5);
    expect(value(samples, 'switchyard_stage_rows_behind_capped', { stage: 'routing' })).toBe(0);
    expect(value(samples, 'switchyard_stage_lag_seconds', { stage: 'routing' })).toBeGreaterThan(1);
    expect(value(samples, 'switchyard_recommended_workers', { role: 'routing' })).toBe(3); // ceil(5 / 2)
    expect(value(samples, 'switchyard_stage_workers', { stage: 'routing' })).toBeUndefined(); // none in this process

    const scaling = await service.admin.get('/v1/admin/scaling');
    expect(scaling.status).toBe(200);
    expect(scaling.body.roles.find((r: { role: string }) => r.role === 'persistence')).toMatchObject({
      recommended: 3, signals: { rows_behind: 5, rows_capped: false },
    });
    expect(scaling.body.thresholds).toMatchObject({ stage_rows_per_worker: 2, max_workers: 4 });
  });
});

describe('100,000 client queues', () => {
  let database: TestDatabase;
  let service: TestService;

  beforeAll(async () => {
    database = await createTestDatabase();
    await sql`
      insert into switchyard.client (name, token_hash)
      select 'c' || i, sha256(('c' || i)::bytea) from generate_series(1, 100000) i`.execute(database.db);
    await sql`
      insert into switchyard.queue_stat (client_id, depth, visible, in_flight, delayed, oldest_enqueued_at, updated_at)
      select id, 1 + id % 1000, 1 + id % 1000, 0, 0, now() - make_interval(secs => id % 600), now() from switchyard.client`.execute(database.db);
    await sql`analyze switchyard.client, switchyard.queue_stat`.execute(database.db);
    service = await startTestService(database.url, { SWITCHYARD_ROLES: 'router' }, { metrics: { cacheMs: 0 } });
  });

  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  test('a scrape labels only the deepest queues and stays quick', async () => {
    await scrape(service.url); // warm up
    const started = performance.now();
    const samples = await scrape(service.url);
    const ms = performance.now() - started;
    const labelled = samples.filter((s) => s.labels.client_id !== undefined);
    expect(labelled.length).toBe(4 * 10); // four per-queue gauges for the 10 deepest queues
    expect(value(samples, 'switchyard_queue_top_depth')).toBe(1_000);
    expect(value(samples, 'switchyard_queues')).toBe(100_000);
    expect(value(samples, 'switchyard_queues_by_depth', { le: '100' })).toBe(10_000);
    expect(samples.length).toBeLessThan(1_000);
    // Generous for a shared test machine; the point is that it does not grow with the clients.
    expect(ms, `scrape took ${Math.round(ms)} ms`).toBeLessThan(2_000);
  });
});
