// Dead letters: listing, and redrive or purge in bounded batches. A call works batch after batch
// (each its own transaction) until nothing matches or its batch or time budget is spent, and
// reports what it did and what is left; callers repeat until done.
import type { Db } from '../db/database.ts';
import {
  countDeadLetters, listDeadLetters, purgeDeadLetterBatch, redriveDeadLetterBatch,
  type DeadLetterFilter, type DeadLetterPosition, type DeadLetterRow,
} from './dead-letters.repository.ts';
import { DEAD_LETTER_CURSOR } from './inbox.schemas.ts';

export interface BatchRun {
  batchSize: number;
  maxBatches: number;
  maxSeconds: number;
}

export class DeadLettersService {
  readonly #db: Db;
  readonly #onRedriven: (clientId: string | undefined) => void;

  constructor(db: Db, onRedriven: (clientId: string | undefined) => void) {
    this.#db = db;
    this.#onRedriven = onRedriven;
  }

  /** `before`: a page's next_before, or a time (ISO 8601). `db`: a read replica for operators' reads. */
  async list(filter: DeadLetterFilter, before: string | undefined, limit: number, db: Db = this.#db) {
    const rows = await listDeadLetters(db, filter, position(before), limit);
    const last = rows.at(-1);
    return {
      dead_letters: rows.map(view),
      next_before: last && rows.length === limit ? `${last.dead_at_exact}~${last.client_id}~${last.message_id}` : null,
    };
  }

  /** How many dead letters match the filter. */
  count(filter: DeadLetterFilter): Promise<number> {
    return countDeadLetters(this.#db, filter);
  }

  async redrive(filter: DeadLetterFilter, run: BatchRun) {
    const result = await this.#inBatches(filter, run, (f, n) => redriveDeadLetterBatch(this.#db, f, n));
    if (result.moved > 0) this.#onRedriven(filter.clientId);
    return result;
  }

  purge(filter: DeadLetterFilter, run: BatchRun) {
    return this.#inBatches(filter, run, (f, n) => purgeDeadLetterBatch(this.#db, f, n));
  }

  async #inBatches(filter: DeadLetterFilter, run: BatchRun, batch: (f: DeadLetterFilter, n: number) => Promise<number>) {
    const deadline = Date.now() + run.maxSeconds * 1000;
    let moved = 0;
    let batches = 0;
    for (;;) {
      const n = await batch(filter, run.batchSize);
      moved += n;
      batches += 1;
      if (n < run.batchSize || batches >= run.maxBatches || Date.now() >= deadline) break;
    }
    const remaining = await countDeadLetters(this.#db, filter);
    return { moved, batches, remaining, done: remaining === 0 || moved === 0 };
  }
}

function position(before: string | undefined): DeadLetterPosition | undefined {
  if (before === undefined) return undefined;
  const cursor = DEAD_LETTER_CURSOR.exec(before);
  return cursor ? { deadAt: cursor[1]!, clientId: cursor[2], messageId: cursor[3] } : { deadAt: before };
}

function view(row: DeadLetterRow) {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: row.message_id,
    client_id: row.client_id,
    client_name: row.client_name,
    from: row.sender,
    to: row.to_address,
    type: row.type,
    payload: row.payload ?? null,
    headers: row.headers ?? {},
    sent_at: iso(row.sent_at),
    priority: row.priority,
    group_id: row.group_id,
    reason: row.reason,
    receive_count: row.receive_count,
    first_received_at: iso(row.first_received_at),
    last_received_at: iso(row.last_received_at),
    last_error: row.last_error,
    dead_at: row.dead_at.toISOString(),
  };
}
