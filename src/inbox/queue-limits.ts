// Queue length limits. One process at a time recomputes the queue statistics every few seconds and
// applies the dead_letter overflow policy; every router keeps the set of addresses that reach a
// full queue with the reject policy, and refuses publishes to them (429 QueueFull) until the
// queue drains. Limits therefore act within a few seconds, not at the exact message: the price of
// never counting a queue on the publish path.
import type { Db } from '../db/database.ts';
import { ApiError } from '../http/problem.ts';
import type { Logger } from '../log.ts';
import { Worker } from '../queue/worker.ts';
import { deadLetterOverflow, listRejectingAddresses, refreshQueueStats, type QueueDefaults } from './queue-stats.repository.ts';

export function createQueueStatsWorker(db: Db, defaults: QueueDefaults, intervalMs: number, log: Logger): Worker {
  return new Worker({
    name: 'inbox:queue-stats',
    pollMs: intervalMs,
    log,
    runOnce: async () => {
      const processed = await db.transaction().execute(async (tx) => {
        const queues = await refreshQueueStats(tx);
        if (queues === undefined) return 0; // another process has it
        const moved = await deadLetterOverflow(tx, defaults);
        if (moved > 0) log.warn('queues over their length limit: oldest messages dead-lettered', { moved });
        return queues;
      });
      return { processed, more: false };
    },
  });
}

export class QueueLimits {
  readonly #db: Db;
  readonly #defaults: QueueDefaults;
  #rejecting = new Set<string>();

  constructor(db: Db, defaults: QueueDefaults) {
    this.#db = db;
    this.#defaults = defaults;
  }

  async refresh(): Promise<number> {
    this.#rejecting = new Set(await listRejectingAddresses(this.#db, this.#defaults));
    return this.#rejecting.size;
  }

  /** Throws QueueFull when the address reaches a full queue that rejects new messages. */
  check(address: string, path: string): void {
    if (!this.#rejecting.has(address)) return;
    throw new ApiError('QueueFull', `a queue that ${address} reaches is full; retry later`, {
      errors: [{ path, message: `a recipient's queue is full` }],
      headers: { 'retry-after': '5' },
    });
  }

  createRefreshWorker(intervalMs: number, log: Logger): Worker {
    return new Worker({
      name: 'router:queue-limits',
      pollMs: intervalMs,
      log,
      runOnce: async () => ({ processed: await this.refresh(), more: false }),
    });
  }
}
