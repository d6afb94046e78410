// Receives that ask at the same moment claim in one statement. A message to a topic with
// thousands of open streams wakes them all at once; one round trip each would queue thousands of
// statements on the pool, and the last stream would wait for all of them. Instead every claim asked
// for before the current job's promise continuations have all run goes out together
// (claimDeliveriesMany), in statements of at most CLAIMS_PER_STATEMENT, which run side by side on
// the pool. The flush is a process.nextTick, which Node runs once the microtask queue is empty: the
// woken streams all reach their claim first, and a claim asked for alone waits for nothing (a
// setImmediate cost receive + ack about a tenth of its rate, one event-loop turn per receive).
import type { Db } from '../db/database.ts';
import { claimDeliveries, claimDeliveriesMany, type ClaimedRow, type ClaimOptions } from './inbox.repository.ts';

/**
 * Large enough that 10,000 woken streams make 20 statements, one per pooled connection; small
 * enough that one statement holds its row locks for tens of milliseconds, not seconds.
 */
export const CLAIMS_PER_STATEMENT = 500;

interface Pending {
  options: ClaimOptions;
  resolve: (rows: ClaimedRow[]) => void;
  reject: (error: unknown) => void;
}

export class ClaimBatcher {
  readonly #db: Db;
  #pending: Pending[] = [];

  constructor(db: Db) {
    this.#db = db;
  }

  claim(options: ClaimOptions): Promise<ClaimedRow[]> {
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) process.nextTick(() => this.#flush());
      this.#pending.push({ options, resolve, reject });
    });
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (let start = 0; start < pending.length; start += CLAIMS_PER_STATEMENT) {
      const part = pending.slice(start, start + CLAIMS_PER_STATEMENT);
      const answers = part.length === 1
        ? claimDeliveries(this.#db, part[0]!.options).then((rows) => [rows])
        : claimDeliveriesMany(this.#db, part.map((p) => p.options));
      answers.then(
        (rows) => part.forEach((p, i) => p.resolve(rows[i]!)),
        (error: unknown) => part.forEach((p) => p.reject(error)),
      );
    }
  }
}
