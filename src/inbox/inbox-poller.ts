// The push role's fallback: every few hundred milliseconds, one query finds which of the clients
// that somebody in this process is waiting on have a visible delivery, and wakes them. It catches
// what no signal announces: delays and leases running out, and NOTIFYs lost with a connection.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { Waiters } from '../queue/waiters.ts';
import { Worker } from '../queue/worker.ts';
import { listClientsWithVisibleDeliveries } from './inbox.repository.ts';

export function createInboxPoller(db: Db, waiters: Waiters, pollMs: number, log: Logger): Worker {
  return new Worker({
    name: 'inbox:poller',
    pollMs,
    log,
    runOnce: async () => {
      const waiting = waiters.keys();
      if (waiting.length === 0) return { processed: 0, more: false };
      const ready = await listClientsWithVisibleDeliveries(db, waiting);
      waiters.wake(ready);
      return { processed: ready.length, more: false };
    },
  });
}
