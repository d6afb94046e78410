// Receives that ask at the same moment claim in one statement. A message to a topic with
// thousands of open streams wakes them all at once; one round trip each would queue thousands of
// statements on the pool, and the last stream would wait for all of them. Instead every claim asked
// for before the current job's promise continuations have all run goes out together
// (claimDeliveriesForClients, one set-based statement for many clients), in statements of at most
// CLAIMS_PER_STATEMENT, which run side by side on the pool. The flush is a process.nextTick, which
// Node runs once the microtask queue is empty: the woken streams all reach their claim first, and a
// claim asked for alone waits for nothing (a setImmediate cost receive + ack about a tenth of its
// rate, one event-loop turn per receive).
import type { Db } from '../db/database.ts';
import { claimDeliveries, claimDeliveriesForClients, claimDeliveriesMany, type ClaimedRow, type ClaimOptions } from './inbox.repository.ts';

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
    const [together, apart] = splitForOneSet(pending);
    for (let start = 0; start < together.length; start += CLAIMS_PER_STATEMENT) {
      const part = together.slice(start, start + CLAIMS_PER_STATEMENT);
      this.#answer(part, part.length === 1
        ? claimDeliveries(this.#db, part[0]!.options).then((rows) => [rows])
        : claimDeliveriesForClients(this.#db, part.map((p) => p.options)));
    }
    for (let start = 0; start < apart.length; start += CLAIMS_PER_STATEMENT) {
      const part = apart.slice(start, start + CLAIMS_PER_STATEMENT);
      this.#answer(part, claimDeliveriesMany(this.#db, part.map((p) => p.options)));
    }
  }

  #answer(part: Pending[], answers: Promise<ClaimedRow[][]>): void {
    answers.then(
      (rows) => part.forEach((p, i) => p.resolve(rows[i]!)),
      (error: unknown) => part.forEach((p) => p.reject(error)),
    );
  }
}

/**
 * The set-based claim takes each client once, on one clock. Requests of a client that asked more
 * than once in this turn (competing consumers in one process), or on another injected clock, go
 * through claimDeliveriesMany instead: one call per request, in order, in a statement of their own,
 * where each call sees what the earlier ones leased. Their clients are not in the set statement, so
 * the two statements never reach for the same rows.
 */
function splitForOneSet(pending: Pending[]): [Pending[], Pending[]] {
  const asked = new Map<string, number>();
  for (const p of pending) asked.set(p.options.clientId, (asked.get(p.options.clientId) ?? 0) + 1);
  const clock = pending[0]?.options.now?.getTime();
  const together: Pending[] = [];
  const apart: Pending[] = [];
  for (const p of pending) {
    const alone = asked.get(p.options.clientId) === 1 && p.options.now?.getTime() === clock;
    (alone ? together : apart).push(p);
  }
  return [together, apart];
}
