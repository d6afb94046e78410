// Group commit: concurrent callers' items are written together, in one statement per flush.
// A flush starts as soon as a connection slot is free; while maxConcurrent flushes are in flight,
// new items gather and go out together in the next one. So a lone request is written at once, and
// under load batches grow by themselves, with no timer in the path. A caller's items are never
// split across flushes, and each caller hears back when its flush has committed.
//
// Two promises the shared statement must not break:
// - One caller's bad item never fails the others: a flush that fails with an error `isolate`
//   blames on the data is split in halves and each half flushed again, down to the one caller
//   at fault, who alone gets the error (log2(callers) extra statements per bad caller).
// - The queue is bounded (admission control): a submit that would take the waiting items or bytes
//   past their limits, or that arrives while the oldest waiting item has waited longer than
//   maxWaitMs, is refused at once with GroupCommitFull, so overload ends in fast refusals, not in
//   client timeouts. A caller that gives up (its signal aborts) before its items join a flush
//   leaves the queue: nothing is written for a request nobody waits for.

interface Pending<T, R> {
  items: T[];
  bytes: number;
  queuedAt: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions<T, R> {
  /** Writes the items; returns one result per item, in order. */
  flush: (items: T[]) => Promise<R[]>;
  /** Most items per flush (a single caller with more still goes out alone). */
  maxBatch: number;
  maxConcurrent: number;
  /** True when a failed flush may be the fault of one caller's items, not of the database. */
  isolate?: (error: unknown) => boolean;
  /** Most items waiting for a flush; a caller with more than this alone is still let in. */
  maxQueuedItems?: number;
  /** Most bytes (by sizeOf) waiting for a flush; a lone caller over it is still let in. */
  maxQueuedBytes?: number;
  /** New callers are refused while the oldest waiting item has waited longer than this. */
  maxWaitMs?: number;
  sizeOf?: (item: T) => number;
  /** Milliseconds since some fixed point; injectable for tests. */
  now?: () => number;
}

export type GroupCommitLimit = 'items' | 'bytes' | 'wait';

/** The queue is full: the caller should come back later. Nothing of theirs was queued. */
export class GroupCommitFull extends Error {
  readonly limit: GroupCommitLimit;

  constructor(limit: GroupCommitLimit) {
    super(`the group-commit queue is over its ${limit} limit`);
    this.name = 'GroupCommitFull';
    this.limit = limit;
  }
}

/** The caller's signal aborted while its items still waited: nothing was written. */
export class GroupCommitAborted extends Error {
  constructor() {
    super('the caller gave up before its items were flushed');
    this.name = 'GroupCommitAborted';
  }
}

export class GroupCommit<T, R> {
  readonly #o: GroupCommitOptions<T, R>;
  readonly #now: () => number;
  #queue: Pending<T, R>[] = [];
  #queuedItems = 0;
  #queuedBytes = 0;
  #inFlight = new Set<Promise<void>>();
  #scheduled = false;

  constructor(options: GroupCommitOptions<T, R>) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Queues the items for the next flush; throws GroupCommitFull instead when the queue is full. */
  submit(items: T[], signal?: AbortSignal): Promise<R[]> {
    if (signal?.aborted) return Promise.reject(new GroupCommitAborted());
    const bytes = this.#o.sizeOf ? items.reduce((n, item) => n + this.#o.sizeOf!(item), 0) : 0;
    const full = this.#overLimit(items.length, bytes);
    if (full) return Promise.reject(new GroupCommitFull(full));
    return new Promise((resolve, reject) => {
      const pending: Pending<T, R> = { items, bytes, queuedAt: this.#now(), signal, onAbort: undefined, resolve, reject };
      if (signal) {
        pending.onAbort = () => this.#abandon(pending);
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.#queue.push(pending);
      this.#queuedItems += items.length;
      this.#queuedBytes += bytes;
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
    return this.#queuedItems;
  }

  /** Bytes (by sizeOf) waiting for a flush slot. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** How long the oldest waiting caller has waited, in milliseconds (0 when none waits). */
  get oldestWaitMs(): number {
    const oldest = this.#queue[0];
    return oldest === undefined ? 0 : this.#now() - oldest.queuedAt;
  }

  /** Resolves once everything submitted so far is flushed. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#inFlight.size > 0) {
      this.#pump();
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  /** The limit a submit of this many items and bytes would break now, if any (it would be refused). */
  refusal(items: number, bytes = 0): GroupCommitLimit | undefined {
    return this.#overLimit(items, bytes);
  }

  #overLimit(items: number, bytes: number): GroupCommitLimit | undefined {
    // An empty queue takes anyone: a single request larger than a limit is not refused forever.
    if (this.#queue.length === 0) return undefined;
    const o = this.#o;
    if (o.maxQueuedItems !== undefined && this.#queuedItems + items > o.maxQueuedItems) return 'items';
    if (o.maxQueuedBytes !== undefined && this.#queuedBytes + bytes > o.maxQueuedBytes) return 'bytes';
    if (o.maxWaitMs !== undefined && this.oldestWaitMs > o.maxWaitMs) return 'wait';
    return undefined;
  }

  #abandon(pending: Pending<T, R>): void {
    const index = this.#queue.indexOf(pending);
    if (index < 0) return; // already in a flush: it commits, and the answer goes nowhere
    this.#queue.splice(index, 1);
    this.#dequeued(pending);
    pending.reject(new GroupCommitAborted());
  }

  #dequeued(pending: Pending<T, R>): void {
    this.#queuedItems -= pending.items.length;
    this.#queuedBytes -= pending.bytes;
    if (pending.onAbort) pending.signal!.removeEventListener('abort', pending.onAbort);
  }

  #pump(): void {
    while (this.#inFlight.size < this.#o.maxConcurrent && this.#queue.length > 0) {
      const batch: Pending<T, R>[] = [];
      let size = 0;
      while (this.#queue.length > 0) {
        const next = this.#queue[0]!;
        if (batch.length > 0 && size + next.items.length > this.#o.maxBatch) break;
        batch.push(this.#queue.shift()!);
        this.#dequeued(next);
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
      if (batch.length > 1 && this.#o.isolate?.(error)) {
        // The statement rolled back as a whole: flush each half again, one after the other so
        // that the split never takes more connections than the flush it replaces.
        const middle = Math.ceil(batch.length / 2);
        await this.#flush(batch.slice(0, middle));
        await this.#flush(batch.slice(middle));
        return;
      }
      for (const pending of batch) pending.reject(error);
    }
  }
}
