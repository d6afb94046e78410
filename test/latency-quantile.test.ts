// Latency percentiles in /v1/admin/analytics are estimated from bucket counts: interpolated inside
// the bucket the rank falls in, never above the observed maximum, null when nothing was counted.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DeliveryRecorder, LATENCY_BUCKET_BOUNDS_MS } from '../src/analytics/delivery-recorder.ts';
import { latencyQuantile } from '../src/analytics/latency-quantile.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startTestService, type TestService } from './helpers/service.ts';

const bucketOf = (latency: number) => LATENCY_BUCKET_BOUNDS_MS.findIndex((bound) => latency <= bound);

function histogram(latencies: number[]): { buckets: number[]; max: number } {
  const buckets = LATENCY_BUCKET_BOUNDS_MS.map(() => 0);
  for (const latency of latencies) buckets[bucketOf(latency)]! += 1;
  return { buckets, max: Math.max(...latencies) };
}

const quantiles = (latencies: number[]) => {
  const { buckets, max } = histogram(latencies);
  return { p50: latencyQuantile(buckets, 0.5, max), p90: latencyQuantile(buckets, 0.9, max), p99: latencyQuantile(buckets, 0.99, max) };
};

describe('latencyQuantile', () => {
  test('nothing counted gives null for every percentile', () => {
    const empty = LATENCY_BUCKET_BOUNDS_MS.map(() => 0);
    expect([0.5, 0.9, 0.99].map((q) => latencyQuantile(empty, q, 0))).toEqual([null, null, null]);
  });

  test('a single value is every percentile, not its bucket bound', () => {
    expect(quantiles([1148])).toEqual({ p50: 1148, p90: 1148, p99: 1148 }); // its bucket ends at 2000
  });

  test('a single value beyond the last finite bound is reported as itself', () => {
    expect(quantiles([90_000])).toEqual({ p50: 90_000, p90: 90_000, p99: 90_000 });
  });

  test('values all in one bucket spread from its lower bound to the maximum', () => {
    // ten values in (50, 100], the largest 80: the k-th of ten sits at 50 + 30 * k / 10
    const latencies = [51, 55, 58, 60, 64, 66, 70, 74, 77, 80];
    expect(quantiles(latencies)).toEqual({ p50: 65, p90: 77, p99: 80 });
  });

  test('zero latencies in the lowest bucket give zero', () => {
    expect(quantiles([0, 0, 0])).toEqual({ p50: 0, p90: 0, p99: 0 });
  });

  test('a few slow deliveries put p99 inside their bucket and below the maximum', () => {
    const latencies = [...Array.from({ length: 98 }, () => 3), 1100, 1148];
    const { p50, p99 } = quantiles(latencies);
    expect(p50).toBeGreaterThan(2);
    expect(p50).toBeLessThanOrEqual(5);
    expect(p99).toBe(1000 + (1148 - 1000) / 2); // rank 99 is the first of the two in (1000, 2000]
  });

  test('every percentile lies in the bucket of the exact nearest-rank value, in order, never above the maximum', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 1, maxLength: 300 }), (latencies) => {
      const sorted = [...latencies].sort((a, b) => a - b);
      const { buckets, max } = histogram(latencies);
      let previous = 0;
      for (const q of [0.01, 0.29, 0.5, 0.9, 0.99, 1]) {
        const estimate = latencyQuantile(buckets, q, max)!;
        const exact = sorted[Math.max(1, Math.ceil(q * sorted.length - 1e-9)) - 1]!;
        expect(estimate).toBeLessThanOrEqual(max);
        expect(estimate).toBeGreaterThanOrEqual(previous);
        if (exact > 0) expect(bucketOf(estimate)).toBe(bucketOf(exact));
        previous = estimate;
      }
      expect(latencyQuantile(buckets, 1, max)).toBe(max);
    }), { numRuns: 300 });
  });
});

describe('GET /v1/admin/analytics', () => {
  let database: TestDatabase;
  let service: TestService;
  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startTestService(database.url);
  });
  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  test('reports p99 at or below max when the slowest deliveries sit low in a wide bucket', async () => {
    const recorder = new DeliveryRecorder();
    const sentAt = Date.now() - 1_000;
    for (let i = 0; i < 98; i += 1) recorder.recordFirstDelivery('topic:latency', sentAt, sentAt + 3);
    recorder.recordFirstDelivery('topic:latency', sentAt, sentAt + 1_100);
    recorder.recordFirstDelivery('topic:latency', sentAt, sentAt + 1_148);
    await recorder.flush(database.db);

    const reply = await service.admin.get('/v1/admin/analytics?address=topic:latency&minutes=5');
    expect(reply.status).toBe(200);
    expect(reply.body.minutes).toHaveLength(1);
    const latency = reply.body.minutes[0].latency_ms;
    expect(latency.max).toBe(1148);
    expect(latency.p99).toBe(1074); // before: 2000, the bucket's upper bound
    expect(latency.p90).toBeLessThanOrEqual(5);
    expect(latency.p50).toBeLessThanOrEqual(latency.p90);
  });
});
