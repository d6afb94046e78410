// The requests waiting for a reply in this process, and the one worker that looks for all their
// replies at once: one query per poll interval for every waiting request together (as the inbox
// poller does for receivers), run sooner when a router commits a message with one of their
// correlation ids (the reply signal). Who may answer: a client that may listen to the address
// the request was sent to (for to: user:carol only Carol's clients; for a group its members; for
// a topic its readers). Other messages with the same correlation id are skipped, not answers.
import type { AddressAccess } from '../auth/access.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { parseAddress } from '../addresses/address.ts';
import { Worker } from '../queue/worker.ts';
import { listRepliesAfter, type ReplyRow, type ReplyWait } from './requests.repository.ts';

/** Candidates read per waiting request and poll: spoofed replies past it are read on the next run, at once. */
const CANDIDATES_PER_REQUEST = 16;

interface Pending extends ReplyWait {
  /** The address the request was sent to: who may answer. */
  to: string;
  resolve: (reply: ReplyRow | undefined) => void;
}

export class ReplyWatch {
  readonly #db: Db;
  readonly #access: AddressAccess;
  readonly #pending = new Map<string, Pending>();
  readonly worker: Worker;

  constructor(db: Db, access: AddressAccess, pollMs: number, log: Logger) {
    this.#db = db;
    this.#access = access;
    this.worker = new Worker({ name: 'requests:replies', pollMs, log, runOnce: () => this.runOnce() });
  }

  /**
   * Waits for the reply to a request (identified by its message id) until timeoutMs passes or the
   * signal aborts; undefined then. The id may still change (setRequestId) until the request is committed.
   */
  register(wait: Omit<ReplyWait, 'after'> & { to: string }, timeoutMs: number, signal: AbortSignal) {
    let pending!: Pending;
    const reply = new Promise<ReplyRow | undefined>((resolve) => {
      const timer = setTimeout(() => finish(undefined), Math.max(0, timeoutMs));
      const onAbort = () => finish(undefined);
      const finish = (row: ReplyRow | undefined) => {
        if (this.#pending.get(pending.requestId) !== pending) return;
        this.#pending.delete(pending.requestId);
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(row);
      };
      pending = { ...wait, resolve: finish };
      this.#pending.set(wait.requestId, pending);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) finish(undefined);
    });
    return {
      reply,
      /** A repeated dedup_id made the request an earlier message: wait for replies to that one. */
      setRequestId: (id: string) => {
        if (this.#pending.get(pending.requestId) !== pending) return;
        this.#pending.delete(pending.requestId);
        pending.requestId = id;
        pending.after = undefined;
        this.#pending.set(id, pending);
      },
      cancel: () => pending.resolve(undefined),
    };
  }

  /** A router committed messages with these correlation ids (all, when undefined). */
  wake(correlationIds: string[] | undefined): void {
    if (this.#pending.size === 0) return;
    if (correlationIds === undefined) return this.worker.wake();
    const ids = new Set(correlationIds);
    for (const pending of this.#pending.values()) if (ids.has(pending.correlationId)) return this.worker.wake();
  }

  get size(): number {
    return this.#pending.size;
  }

  async runOnce(): Promise<{ processed: number; more: boolean }> {
    const waits = [...this.#pending.values()];
    if (waits.length === 0) return { processed: 0, more: false };
    const rows = await listRepliesAfter(this.#db, waits, CANDIDATES_PER_REQUEST);
    const byRequest = Map.groupBy(rows, (row) => row.request_id);
    let answered = 0;
    let more = false;
    for (const [requestId, candidates] of byRequest) {
      const pending = this.#pending.get(requestId);
      if (!pending) continue; // timed out meanwhile
      const reply = await this.#firstFromAnAnswerer(pending.to, candidates);
      if (reply) {
        answered += 1;
        pending.resolve(reply);
      } else {
        const last = candidates.at(-1)!;
        pending.after = { us: last.created_us, id: last.id };
        more ||= candidates.length === CANDIDATES_PER_REQUEST;
      }
    }
    return { processed: answered, more };
  }

  async #firstFromAnAnswerer(to: string, candidates: ReplyRow[]): Promise<ReplyRow | undefined> {
    for (const row of candidates) {
      if (await this.#access.mayRead(parseAddress(row.sender).name, to)) return row;
    }
    return undefined;
  }
}
