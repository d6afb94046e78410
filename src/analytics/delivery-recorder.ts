// What happens to deliveries, per minute and address: first deliveries with their end-to-end
// latency (publish, the message's created_at, to first receipt by a client), expirations and
// dead letters. The push role records them here, in memory; a worker adds the rollups to
// switchyard.analytics_minute every few seconds in one statement. Rollups lost in a crash cost a
// few seconds of statistics, never a message.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { Worker } from '../queue/worker.ts';
import { upsertDeliveryLatencies, type LatencyRollup } from './analytics.repository.ts';

/** Upper bounds in ms; the same as switchyard.latency_bucket_bounds(). */
export const LATENCY_BUCKET_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000, 2147483647];

export function addressBucket(address: string): string {
  return address.startsWith('user:') ? 'user:*' : address;
}

export class DeliveryRecorder {
  #rollups = new Map<string, LatencyRollup>();

  // Times are epoch milliseconds.

  /** A first delivery (receive_count 1) of a message sent at sentAt. */
  recordFirstDelivery(address: string, sentAt: number, receivedAt = Date.now()): void {
    const latency = Math.max(0, receivedAt - sentAt);
    const rollup = this.#rollup(address, sentAt);
    rollup.count += 1;
    rollup.sumMs += latency;
    rollup.maxMs = Math.max(rollup.maxMs, Math.round(latency));
    const bucket = LATENCY_BUCKET_BOUNDS_MS.findIndex((bound) => latency <= bound);
    rollup.buckets[bucket] = (rollup.buckets[bucket] ?? 0) + 1;
  }

  recordExpired(address: string, sentAt: number): void {
    this.#rollup(address, sentAt).expired += 1;
  }

  recordDeadLettered(address: string, sentAt: number): void {
    this.#rollup(address, sentAt).deadLettered += 1;
  }

  #rollup(address: string, sentAt: number): LatencyRollup {
    const minute = new Date(Math.floor(sentAt / 60_000) * 60_000);
    const bucketAddress = addressBucket(address);
    const key = `${minute.getTime()}|${bucketAddress}`;
    let rollup = this.#rollups.get(key);
    if (!rollup) {
      rollup = {
        minute, address: bucketAddress, count: 0, sumMs: 0, maxMs: 0, buckets: LATENCY_BUCKET_BOUNDS_MS.map(() => 0),
        expired: 0, deadLettered: 0,
      };
      this.#rollups.set(key, rollup);
    }
    return rollup;
  }

  /** Writes what was recorded since the last flush. On failure the rollups are kept for the next. */
  async flush(db: Db): Promise<number> {
    if (this.#rollups.size === 0) return 0;
    const rollups = [...this.#rollups.values()];
    this.#rollups = new Map();
    try {
      await upsertDeliveryLatencies(db, rollups);
    } catch (error) {
      for (const rollup of rollups) this.#merge(rollup);
      throw error;
    }
    return rollups.length;
  }

  #merge(rollup: LatencyRollup): void {
    const key = `${rollup.minute.getTime()}|${rollup.address}`;
    const current = this.#rollups.get(key);
    if (!current) return void this.#rollups.set(key, rollup);
    current.count += rollup.count;
    current.sumMs += rollup.sumMs;
    current.maxMs = Math.max(current.maxMs, rollup.maxMs);
    current.buckets = current.buckets.map((n, i) => n + (rollup.buckets[i] ?? 0));
    current.expired += rollup.expired;
    current.deadLettered += rollup.deadLettered;
  }
}

export function createDeliveryStatsFlushWorker(recorder: DeliveryRecorder, db: Db, log: Logger, intervalMs = 5_000): Worker {
  return new Worker({
    name: 'analytics:delivery-stats',
    pollMs: intervalMs,
    log,
    runOnce: async () => ({ processed: await recorder.flush(db), more: false }),
  });
}
