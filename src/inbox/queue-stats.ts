// Queue statistics: one process at a time recounts every queue into switchyard.queue_stat every
// few seconds and applies the dead_letter overflow policy. Length limits, backpressure, metrics
// and the dashboard read the counts, so none of them has to count a queue on a hot path.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { Worker } from '../queue/worker.ts';
import { deadLetterOverflow, refreshQueueStats, type QueueDefaults } from './queue-stats.repository.ts';

/** onOverflow: told how many deliveries the overflow policy moved to the dead letters, per client id (metrics). */
export function createQueueStatsWorker(
  db: Db, defaults: QueueDefaults, intervalMs: number, log: Logger, onOverflow?: (movedPerClient: Map<string, number>) => void,
): Worker {
  return new Worker({
    name: 'inbox:queue-stats',
    pollMs: intervalMs,
    log,
    runOnce: async () => {
      const { queues, moved } = await db.transaction().execute(async (tx) => {
        const counted = await refreshQueueStats(tx);
        if (counted === undefined) return { queues: 0, moved: new Map<string, number>() }; // another process has it
        return { queues: counted, moved: await deadLetterOverflow(tx, defaults) };
      });
      if (moved.size > 0) {
        log.warn('queues over their length limit: oldest messages dead-lettered', { moved: [...moved.values()].reduce((a, b) => a + b, 0) });
        onOverflow?.(moved);
      }
      return { processed: queues, more: false };
    },
  });
}
