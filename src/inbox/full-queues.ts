// Which queues are full with the reject overflow policy, refreshed from the queue statistics every
// few seconds (never counted on a publish or routing path). The router refuses direct messages to
// them (429 QueueFull); routing dead-letters their copies of topic and group messages, so one
// stuck consumer never silences the others listening to the same address.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { Worker } from '../queue/worker.ts';
import { listFullRejectingQueues, type QueueDefaults } from './queue-stats.repository.ts';

export class FullQueues {
  readonly #db: Db;
  readonly #defaults: QueueDefaults;
  #clients: string[] = [];
  #byDirectAddress = new Map<string, string[]>();

  constructor(db: Db, defaults: QueueDefaults) {
    this.#db = db;
    this.#defaults = defaults;
  }

  async refresh(): Promise<void> {
    const rows = await listFullRejectingQueues(this.#db, this.#defaults);
    const byAddress = new Map<string, string[]>();
    for (const row of rows) {
      for (const address of row.direct_addresses) byAddress.set(address, [...(byAddress.get(address) ?? []), row.client_id]);
    }
    this.#clients = rows.map((row) => row.client_id);
    this.#byDirectAddress = byAddress;
  }

  /** Client ids of the full queues. */
  clients(): string[] {
    return this.#clients;
  }

  /** The full queues a direct message to `address` would reach (none for topics and groups). */
  reachedBy(address: string): string[] {
    return this.#byDirectAddress.get(address) ?? [];
  }

  createRefreshWorker(intervalMs: number, log: Logger): Worker {
    return new Worker({
      name: 'inbox:full-queues',
      pollMs: intervalMs,
      log,
      runOnce: async () => {
        await this.refresh();
        return { processed: 0, more: false };
      },
    });
  }
}
