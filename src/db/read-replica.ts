// Reads that may go to a streaming replica (SWITCHYARD_READ_REPLICA_URL): history, analytics and
// operator reads. Writes and everything on the delivery path stay on the primary.
//
// A client that has just written must still read its own writes. History is written by the
// persistence stage a moment after the publish commits, so the publish's own commit LSN is not
// enough to fence on. Instead the fence is the primary's position at the moment of the read: for a
// client that wrote within RECENT_WRITE_MS, the read asks the primary for pg_current_wal_lsn() (a
// trivial statement), waits until the replica has replayed that far (bounded by FENCE_TIMEOUT_MS),
// and reads there; on timeout it reads the primary. Such a read is never older than a read of the
// primary at the same moment. Clients that have not written lately read the replica at once.
// The memory of recent writers is per process: behind a load balancer, a client's reads see its
// writes when they reach the router that accepted them (sticky sessions), else they may lag.
import type { Logger } from '../logger.ts';
import type { Db } from './database.ts';
import { selectCurrentWalLsn, selectReplayLsn } from './read-replica.repository.ts';

/** How long after a write a client's reads are fenced: longer than the stages take to persist it. */
export const RECENT_WRITE_MS = 30_000;
/** The longest a read waits for the replica before reading the primary: a read must stay quick. */
export const FENCE_TIMEOUT_MS = 500;
/** How often a fenced read asks the replica how far it has replayed. */
const FENCE_POLL_MS = 5;
/** Writers remembered at most; the oldest are forgotten first (their reads then go to the replica). */
export const WRITERS_MAX = 100_000;

/** Where history, analytics and operator reads run: the primary, or a ReadReplica. */
export interface Reads {
  /** key: the reading client's address when it may have written (read-your-writes), else undefined. */
  read<T>(key: string | undefined, fn: (db: Db) => Promise<T>): Promise<T>;
  /** `key` has committed a write: its reads in the next RECENT_WRITE_MS are fenced. */
  noteWrite(key: string): void;
}

/** The key of operators' reads and writes through the admin API (no client address looks like it). */
export const ADMIN_READS_KEY = 'admin';

/** Without a replica every read runs on the primary. */
export function primaryReads(db: Db): Reads {
  return { read: (_key, fn) => fn(db), noteWrite: () => undefined };
}

export interface ReadReplicaCounts {
  replica: number;
  fenced: number;
  primaryFallbacks: number;
}

export class ReadReplica implements Reads {
  readonly counts: ReadReplicaCounts = { replica: 0, fenced: 0, primaryFallbacks: 0 };
  readonly #primary: Db;
  readonly #replica: Db;
  readonly #log: Logger;
  readonly #fenceTimeoutMs: number;
  readonly #now: () => number;
  readonly #writers = new Map<string, number>(); // key -> when it last wrote (#now())

  constructor(primary: Db, replica: Db, log: Logger, options: { fenceTimeoutMs?: number; now?: () => number } = {}) {
    this.#primary = primary;
    this.#replica = replica;
    this.#log = log;
    this.#fenceTimeoutMs = options.fenceTimeoutMs ?? FENCE_TIMEOUT_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  noteWrite(key: string): void {
    this.#writers.delete(key); // re-inserted last: the map stays in write order
    this.#writers.set(key, this.#now());
    if (this.#writers.size > WRITERS_MAX) this.#writers.delete(this.#writers.keys().next().value!);
  }

  /** Whether a read by `key` now is fenced: it wrote within RECENT_WRITE_MS and is still remembered. */
  fences(key: string | undefined): boolean {
    const wroteAt = key === undefined ? undefined : this.#writers.get(key);
    return wroteAt !== undefined && this.#now() - wroteAt < RECENT_WRITE_MS;
  }

  /** Runs a read on the replica, fenced for a recent writer; on the primary when the replica lags or fails. */
  async read<T>(key: string | undefined, fn: (db: Db) => Promise<T>): Promise<T> {
    try {
      if (this.fences(key)) {
        if (!(await this.#caughtUp(await selectCurrentWalLsn(this.#primary)))) {
          this.counts.primaryFallbacks += 1;
          return await fn(this.#primary);
        }
        this.counts.fenced += 1;
      }
      const result = await fn(this.#replica);
      this.counts.replica += 1;
      return result;
    } catch (error) {
      if (!isReplicaError(error)) throw error;
      this.#log.warn('read replica failed, reading the primary', { error: (error as Error).message });
      this.counts.primaryFallbacks += 1;
      return fn(this.#primary);
    }
  }

  async #caughtUp(lsn: string): Promise<boolean> {
    const deadline = performance.now() + this.#fenceTimeoutMs;
    for (;;) {
      const replayed = await selectReplayLsn(this.#replica);
      if (replayed !== null && compareLsn(replayed, lsn) >= 0) return true;
      if (performance.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, FENCE_POLL_MS));
    }
  }
}

/**
 * Errors after which the primary can answer instead: the replica cannot be reached (node errors,
 * PostgreSQL's class 08 and 57P0x), or it cancelled the read for a conflict with recovery (40001).
 */
function isReplicaError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('E') || code.startsWith('08') || /^57P0[1-3]$/.test(code) || code === '40001');
}

/** Orders two pg_lsn texts (X/Y, both hexadecimal) without a round trip. */
export function compareLsn(a: string, b: string): number {
  const value = (lsn: string) => {
    const [hi, lo] = lsn.split('/') as [string, string];
    return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
  };
  const diff = value(a) - value(b);
  return diff === 0n ? 0 : diff > 0n ? 1 : -1;
}
