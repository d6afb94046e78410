// Group commit: concurrent callers' items are written together, in one statement per flush.
// A flush starts as soon as a connection slot is free; while maxConcurrent flushes are in flight,
// new items gather and go out together in the next one. So a lone request is written at once, and
// under load batches grow by themselves, with no timer in the path. A caller's items are never
// split across flushes, and each caller hears back when its flush has committed.

interface Pending<T, R> {
  items: T[];
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions<T, R> {
  /** Writes the items; returns one result per item, in order. */
  flush: (items: T[]) => Promise<R[]>;
  /** Most items per flush (a single caller with more still goes out alone). */
  maxBatch: number;
  maxConcurrent: number;
}

export class GroupCommit<T, R> {
  readonly #o: GroupCommitOptions<T, R>;
  #queue: Pending<T, R>[] = [];
  #inFlight = new Set<Promise<void>>();
  #scheduled = false;

  constructor(options: GroupCommitOptions<T, R>) {
    this.#o = options;
  }

  submit(items: T[]): Promise<R[]> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ items, resolve, reject });
      // Gather everything that arrives in this turn of the event loop before flushing.
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#pump();
        });
      }
    });
  }

  /** Items waiting for a flush slot. */
  get queued(): number {
    return this.#queue.reduce((n, p) => n + p.items.length, 0);
  }

  /** Resolves once everything submitted so far is flushed. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#inFlight.size > 0) {
      this.#pump();
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  #pump(): void {
    while (this.#inFlight.size < this.#o.maxConcurrent && this.#queue.length > 0) {
      const batch: Pending<T, R>[] = [];
      let size = 0;
      while (this.#queue.length > 0) {
        const next = this.#queue[0]!;
        if (batch.length > 0 && size + next.items.length > this.#o.maxBatch) break;
        batch.push(this.#queue.shift()!);
        size += next.items.length;
      }
      const flight = this.#flush(batch).finally(() => {
        this.#inFlight.delete(flight);
        this.#pump();
      });
      this.#inFlight.add(flight);
    }
  }

  async #flush(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.#o.flush(batch.flatMap((p) => p.items));
      let offset = 0;
      for (const pending of batch) {
        pending.resolve(results.slice(offset, offset + pending.items.length));
        offset += pending.items.length;
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }
}
