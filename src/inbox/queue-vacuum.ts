// The delivery queue's own vacuum. Every ack, auto-acked receive and expiry deletes rows at the
// head of the claim index (client_id, sort_key), and every receive starts its index scan there:
// until a vacuum removes them, each claim walks every dead entry that the deletes since the last
// vacuum left, and the walk grows with the rate. Autovacuum would remove them, but it looks at a
// database only once per autovacuum_naptime (a server-wide setting, a minute by default), and a
// queue that turns over thousands of rows a second piles up hundreds of thousands of dead entries
// in that time. Mid-way through draining 300,000 deliveries, one 100-row claim read 1,357 buffers in
// 8.7 ms with no vacuum and 299 in 0.3 ms with one a second (bench/RESULTS.md, tenth session).
//
// So the push role, which makes those dead rows, checks the table's statistics every second and
// vacuums it when its dead rows pass QUEUE_VACUUM_MIN_DEAD and a QUEUE_VACUUM_DEAD_SHARE of its
// rows: autovacuum's rule at a second's pace. A vacuum reads every index whole, so its cost grows
// with the table; the share keeps the vacuums of a large queue further apart, and the work per
// deleted row about the same. Several push processes may check at once: VACUUM (SKIP_LOCKED) lets
// only one run. A login that may not vacuum the table (PostgreSQL before 17, where migration 0030
// cannot grant MAINTAIN) is told once in the log and left to autovacuum.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { Worker } from '../queue/worker.ts';
import { deliveryGarbage, vacuumDeliveries, type QueueGarbage } from './queue-vacuum.repository.ts';

const QUEUE_VACUUM_POLL_MS = 1_000;
/** Fewer dead rows than this are never worth a vacuum, however small the table. */
export const QUEUE_VACUUM_MIN_DEAD = 5_000;
/** ... and a vacuum waits until this share of the table's rows are dead. */
export const QUEUE_VACUUM_DEAD_SHARE = 0.05;

function vacuumDue(garbage: QueueGarbage): boolean {
  return garbage.dead >= QUEUE_VACUUM_MIN_DEAD && garbage.dead >= QUEUE_VACUUM_DEAD_SHARE * (garbage.dead + garbage.live);
}

/** onVacuum: told how long each vacuum took, in seconds (metrics). */
export function createQueueVacuumWorker(db: Db, log: Logger, onVacuum?: (seconds: number) => void, pollMs = QUEUE_VACUUM_POLL_MS): Worker {
  let refusalLogged = false;
  return new Worker({
    name: 'inbox:queue-vacuum',
    pollMs,
    log,
    runOnce: async () => {
      const garbage = await deliveryGarbage(db);
      if (!garbage.mayVacuum) {
        if (!refusalLogged) log.warn('this login may not vacuum switchyard.delivery: the queue is left to autovacuum (grant MAINTAIN on it, PostgreSQL 17 or later)');
        refusalLogged = true;
        return { processed: 0, more: false };
      }
      if (!vacuumDue(garbage)) return { processed: 0, more: false };
      const started = performance.now();
      await vacuumDeliveries(db);
      const ms = performance.now() - started;
      log.debug('delivery queue vacuumed', { dead: garbage.dead, live: garbage.live, ms: Math.round(ms) });
      onVacuum?.(ms / 1000);
      return { processed: garbage.dead, more: false };
    },
  });
}
