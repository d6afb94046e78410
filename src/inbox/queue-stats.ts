// Queue statistics: one process at a time recounts every queue into switchyard.queue_stat every
// few seconds and applies the dead_letter overflow policy. Length limits, backpressure, metrics
// and the dashboard read the counts, so none of them has to count a queue on a hot path.
import type { Db } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { Worker } from '../queue/worker.ts';
import { deadLetterOverflow, refreshQueueStats, type QueueDefaults } from './queue-stats.repository.ts';

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
