// Idempotency-Key on publish, after draft-ietf-httpapi-idempotency-key-header: a retry with the
// same key and the same request gets the stored result and publishes nothing; the same key with
// another request is 422 IdempotencyKeyReused; while the first request is still running, 409
// IdempotencyKeyInFlight. Keys are per client and kept for SWITCHYARD_IDEMPOTENCY_WINDOW_SECONDS.
//
// Exactly once across crashes: the message ids are chosen before the publish and stored with the
// claim. An attempt that dies leaves its key in progress until its lease runs out, or until its
// process is seen gone (at once if it failed cleanly); the next retry then takes the key over and looks in the log: if the ids are
// there the first attempt committed and its result is returned, otherwise it publishes the same
// messages under the same ids, so even a very late commit of the first attempt cannot duplicate.
import { createHash } from 'node:crypto';
import type { Db } from '../db/database.ts';
import { IDEMPOTENCY_STATES } from '../db/schema.ts';
import { ApiError } from '../http/problem.ts';
import {
  claimIdempotencyKey, completeIdempotencyKey, countLoggedMessages, deleteExpiredIdempotencyKeys, expireIdempotencyLock, findIdempotencyKey,
  takeOverIdempotencyKey,
} from './idempotency.repository.ts';

const EXPIRY_BATCH = 5_000;

export interface IdempotencyScope {
  clientId: string;
  key: string;
  /** fingerprintRequest() of the request. */
  fingerprint: Buffer;
}

export interface IdempotentResult {
  status: number;
  body: unknown;
  /** True when this is the stored result of an earlier request. */
  replayed: boolean;
}

/** What identifies "the same request": method, path and body (object keys in any order). */
export function fingerprintRequest(method: string, path: string, body: unknown): Buffer {
  return createHash('sha256').update(`${method} ${path}\n`).update(canonicalJson(body)).digest();
}

/** JSON with object keys sorted. Bodies reach it validated, so their depth is bounded. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The shortest lease: a retry never takes over from an attempt younger than a minute. */
export const IDEMPOTENCY_LEASE_MIN_SECONDS = 60;

/**
 * How long an attempt holds its Idempotency-Key before a retry may take over: longer than any
 * statement of the publish can run (twice SWITCHYARD_STATEMENT_TIMEOUT_MS), at least a minute.
 */
export function idempotencyLeaseSeconds(statementTimeoutMs: number): number {
  return Math.max(IDEMPOTENCY_LEASE_MIN_SECONDS, Math.ceil((2 * statementTimeoutMs) / 1000));
}

export class IdempotencyKeys {
  readonly #db: Db;
  readonly #windowSeconds: number;
  readonly #leaseSeconds: number;
  readonly #holder: string;
  readonly #now: (() => Date) | undefined;
  /** Keys this process has an attempt running for ("clientId key"). */
  readonly #running = new Set<string>();

  /**
   * leaseSeconds: how long an attempt may hold a key before a retry may take over; longer than any
   * attempt can take. holder: this process's instance id, whose listener connection tells others
   * it is alive: a retry takes over at once from a holder that died (SIGKILL, crash). now: an
   * injected clock for tests (leases and the window); the database's now() otherwise.
   */
  constructor(db: Db, windowSeconds: number, leaseSeconds: number, holder: string, now?: () => Date) {
    this.#db = db;
    this.#now = now;
    this.#windowSeconds = windowSeconds;
    this.#leaseSeconds = leaseSeconds;
    this.#holder = holder;
  }

  /**
   * Commits `items` (which carry the ids they will have) once per key, or returns the stored
   * result of the earlier request with the same key. `respond` makes the answer from the ids; a
   * commit that learns a better answer (deduplication may give a message an earlier id) returns
   * it, and that is what is stored.
   */
  async run<T extends { id: string }>(
    scope: IdempotencyScope, items: T[], commit: (items: T[]) => Promise<unknown>, status: number, respond: (ids: string[]) => unknown,
  ): Promise<IdempotentResult> {
    const { clientId, key, fingerprint } = scope;
    // A key can vanish between a failed claim and the read (it expired): then claim again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const ids = items.map((item) => item.id);
      const body = respond(ids);
      const claimed = await claimIdempotencyKey(this.#db, {
        clientId, key, fingerprint, messageIds: ids, responseStatus: status, responseBody: body,
        leaseSeconds: this.#leaseSeconds, windowSeconds: this.#windowSeconds, holder: this.#holder,
      }, this.#now?.());
      if (claimed) {
        const committed = await this.#commitUnderKey(scope, items, commit);
        return { status, body: committed ?? body, replayed: false };
      }
      const existing = await findIdempotencyKey(this.#db, clientId, key, this.#now?.());
      if (!existing) continue;
      if (!existing.fingerprint.equals(fingerprint) || existing.message_ids.length !== items.length) {
        throw new ApiError('IdempotencyKeyReused', `Idempotency-Key "${key}" was used for a different request within the last ${this.#windowSeconds} s`);
      }
      const stored = { status: existing.response_status, body: existing.response_body };
      if (existing.state === IDEMPOTENCY_STATES.done) return { ...stored, replayed: true };
      // Held by this very process with no attempt running: the attempt failed and could not release
      // the key (the database was away); this retry may take over now.
      const ownIdle = existing.holder === this.#holder && !this.#running.has(`${clientId} ${key}`);
      if (!(existing.lock_expired || ownIdle) || !(await takeOverIdempotencyKey(this.#db, clientId, key, this.#leaseSeconds, this.#holder, ownIdle, this.#now?.()))) {
        throw inFlight(key);
      }
      // The earlier attempt is gone. Its messages are in the log if and only if it committed.
      if ((await countLoggedMessages(this.#db, existing.message_ids)) > 0) {
        await completeIdempotencyKey(this.#db, clientId, key);
        return { ...stored, replayed: true };
      }
      const committed = await this.#commitUnderKey(scope, items.map((item, i) => ({ ...item, id: existing.message_ids[i]! })), commit);
      return { ...stored, body: committed ?? stored.body, replayed: false };
    }
    throw inFlight(key);
  }

  async #commitUnderKey<T>(scope: IdempotencyScope, items: T[], commit: (items: T[]) => Promise<unknown>): Promise<unknown> {
    let committed: unknown;
    const running = `${scope.clientId} ${scope.key}`;
    this.#running.add(running);
    try {
      committed = await commit(items);
    } catch (error) {
      // Whether it committed is unknown (a lost connection); the next retry finds out from the log.
      await expireIdempotencyLock(this.#db, scope.clientId, scope.key, this.#now?.()).catch(() => undefined);
      throw error;
    } finally {
      this.#running.delete(running);
    }
    await completeIdempotencyKey(this.#db, scope.clientId, scope.key, committed);
    return committed;
  }
}

/** Deletes every expired key, in bounded batches (the upkeep job); returns how many. */
export async function deleteExpiredKeys(db: Db): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteExpiredIdempotencyKeys(db, EXPIRY_BATCH);
    total += deleted;
    if (deleted < EXPIRY_BATCH) return total;
  }
}

function inFlight(key: string): ApiError {
  return new ApiError('IdempotencyKeyInFlight', `a request with Idempotency-Key "${key}" is still being processed; retry later`, {
    headers: { 'Retry-After': '1' },
  });
}
