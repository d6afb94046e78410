// Consumer processing time: every ack records receive-to-ack time and the lease; the
// switchyard.processing_time view gives true percentiles per client over the last 5 minutes, flags
// a client whose p99 passes half its lease, and recommends a visibility of about six times the
// average. /metrics shows the same numbers. The clock is injected: receives and acks are placed
// at exact offsets, so the expected percentiles are computed from the very samples.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/database.ts';
import { ackDeliveries } from '../../src/inbox/inbox.repository.ts';
import { createLogger } from '../../src/logger.ts';
import { Metrics } from '../../src/ops/metrics.ts';
import { OpsSnapshots } from '../../src/ops/ops-snapshot.ts';
import { listProcessingTimes } from '../../src/ops/processing-time.repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createQueueClient, newMessage, publishAndRoute, receipt, receive } from '../helpers/queue.ts';

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
});

afterAll(async () => {
  await database?.drop();
});

/** Linear interpolation between closest ranks, as percentile_cont defines it. */
function percentile(sorted: number[], p: number): number {
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (rank - lo);
}

/** Receives `durations.length` messages at t0 with this lease and acks message i after durations[i] ms. */
async function consume(name: string, durations: number[], visibilitySeconds: number): Promise<string> {
  const client = await createQueueClient(db, name);
  await publishAndRoute(db, durations.map(() => newMessage(`topic:${name}`)));
  const t0 = new Date(Date.now() + 1_000); // once the messages are visible; the acks fall inside the window
  const { delivered } = await receive(db, client, { now: t0, max: durations.length, visibilitySeconds });
  expect(delivered).toHaveLength(durations.length);
  for (const [i, row] of delivered.entries()) {
    expect(await ackDeliveries(db, client, [receipt(row)], new Date(t0.getTime() + durations[i]!))).toEqual([row.id]);
  }
  return client;
}

test('percentiles are computed from every sample, and a client whose p99 passes half its lease is flagged with a recommended visibility', async () => {
  const quick = Array.from({ length: 100 }, (_, i) => (i + 1) * 10); // 10 ms .. 1 s
  const slow = [...Array.from({ length: 95 }, () => 2_000), 7_000, 7_500, 8_000, 8_500, 9_000]; // a long tail near a 10 s lease
  const quickId = await consume('quick', quick, 30);
  const slowId = await consume('slow', slow, 10);

  const rows = await listProcessingTimes(db, 10);
  expect(rows.map((r) => r.client_id)).toEqual([slowId, quickId]); // closest to its lease first
  const [s, q] = rows;
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(q).toMatchObject({ client_name: 'quick', acked: 100, visibility_ms: 30_000, at_risk: false });
  expect(q!.p50_ms).toBeCloseTo(percentile(sorted(quick), 0.5), 6);
  expect(q!.p95_ms).toBeCloseTo(percentile(sorted(quick), 0.95), 6);
  expect(q!.p99_ms).toBeCloseTo(percentile(sorted(quick), 0.99), 6);
  expect(q!.recommended_visibility_seconds).toBe(Math.ceil((6 * avg(quick)) / 1000));
  expect(s).toMatchObject({ client_name: 'slow', acked: 100, visibility_ms: 10_000, at_risk: true });
  expect(s!.p99_ms).toBeCloseTo(percentile(sorted(slow), 0.99), 6);
  expect(s!.p99_ms).toBeGreaterThan(5_000); // over half the 10 s lease: that is what at_risk says
  expect(s!.recommended_visibility_seconds).toBe(Math.ceil((6 * avg(slow)) / 1000));

  // Acks outside the window do not count.
  await sql`update switchyard.delivery_receipt set acked_at = now() - interval '6 minutes' where client_id = ${quickId}`.execute(db);
  expect((await listProcessingTimes(db, 10)).map((r) => r.client_id)).toEqual([slowId]);

  // /metrics carries the same numbers.
  const config = loadConfig({});
  const metrics = new Metrics({
    snapshots: new OpsSnapshots(db, { cacheMs: 0, topQueues: 10 }), scaling: config.scaling, log: createLogger('silent'),
  });
  const text = await metrics.render();
  const sample = (name: string, quantile?: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`client_id="${slowId}"`)
      && (quantile === undefined || l.includes(`quantile="${quantile}"`)));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };
  expect(sample('switchyard_processing_time_seconds', '0.99')).toBeCloseTo(s!.p99_ms / 1000, 6);
  expect(sample('switchyard_processing_time_seconds', '0.5')).toBeCloseTo(s!.p50_ms / 1000, 6);
  expect(sample('switchyard_processing_at_risk')).toBe(1);
  expect(sample('switchyard_processing_recommended_visibility_seconds')).toBe(s!.recommended_visibility_seconds);
});

test('an SSE auto-ack records no processing time: there was no processing to time', async () => {
  const client = await createQueueClient(db, 'auto');
  await publishAndRoute(db, [newMessage('topic:auto')]);
  await receive(db, client, { autoAck: true, lease: { owner: 'dash', seqBefore: 0, prefetch: 10 } });
  const rows = await sql<{ processing_ms: number | null }>`select processing_ms from switchyard.delivery_receipt where client_id = ${client}`.execute(db);
  expect(rows.rows).toEqual([{ processing_ms: null }]);
  expect((await listProcessingTimes(db, 10)).map((r) => r.client_id)).not.toContain(client);
});
