import { sql } from 'kysely';
import { sqlNow } from '../db/clock.repository.ts';
import type { Db } from '../db/database.ts';
import { IDEMPOTENCY_STATES } from '../db/schema.ts';

export interface IdempotencyClaim {
  clientId: string;
  key: string;
  fingerprint: Buffer;
  messageIds: string[];
  responseStatus: number;
  responseBody: unknown;
  leaseSeconds: number;
  windowSeconds: number;
  /** The claiming process's instance id (Signals.origin): while its listener is connected, it is alive. */
  holder: string;
}

// Every statement here that sets or reads a lease or an expiry takes `now`: an injected clock for
// tests, the database's now() otherwise.

/**
 * Takes the key for a new request, in one statement: a fresh insert, or the reuse of an expired
 * row. False when a live row holds the key (the caller then reads it).
 */
export async function claimIdempotencyKey(db: Db, claim: IdempotencyClaim, now?: Date): Promise<boolean> {
  const at = sqlNow(now);
  const result = await sql`
    insert into switchyard.idempotency_key as k (client_id, key, fingerprint, state, message_ids, response_status, response_body,
                                                 locked_until, expires_at, holder)
    values (${claim.clientId}, ${claim.key}, ${claim.fingerprint}, ${IDEMPOTENCY_STATES.inProgress}, ${claim.messageIds}::uuid[],
            ${claim.responseStatus}, ${JSON.stringify(claim.responseBody)}::jsonb,
            ${at} + make_interval(secs => ${claim.leaseSeconds}), ${at} + make_interval(secs => ${claim.windowSeconds}), ${claim.holder})
    on conflict (client_id, key) do update
      set fingerprint = excluded.fingerprint, state = excluded.state, message_ids = excluded.message_ids,
          response_status = excluded.response_status, response_body = excluded.response_body,
          locked_until = excluded.locked_until, created_at = ${at}, expires_at = excluded.expires_at, holder = excluded.holder
      where k.expires_at <= ${at}
    returning 1`.execute(db);
  return result.rows.length > 0;
}

export interface IdempotencyRecord {
  fingerprint: Buffer;
  state: (typeof IDEMPOTENCY_STATES)[keyof typeof IDEMPOTENCY_STATES];
  message_ids: string[];
  response_status: number;
  response_body: unknown;
  /** in_progress only: the attempt holding it may be dead (its lease ran out, or its process is gone), another may take over. */
  lock_expired: boolean;
  /** The process that holds it (in_progress), if known. */
  holder: string | null;
}

/** The live (unexpired) row for the key, if any. */
export async function findIdempotencyKey(db: Db, clientId: string, key: string, now?: Date): Promise<IdempotencyRecord | undefined> {
  const at = sqlNow(now);
  const result = await sql<IdempotencyRecord>`
    select fingerprint, state, message_ids, response_status, response_body, holder,
           coalesce(locked_until <= ${at} or switchyard.idempotency_holder_gone(holder), false) as lock_expired
    from switchyard.idempotency_key
    where client_id = ${clientId} and key = ${key} and expires_at > ${at}`.execute(db);
  return result.rows[0];
}

/**
 * Takes over an in-progress key whose lock ran out or whose holder is gone, or that `holder` itself
 * holds with no attempt running (`ownIdle`: its attempt failed and could not release the key, as when
 * the database went away); false when another attempt got there first.
 */
export async function takeOverIdempotencyKey(
  db: Db, clientId: string, key: string, leaseSeconds: number, holder: string, ownIdle: boolean, now?: Date,
): Promise<boolean> {
  const at = sqlNow(now);
  const result = await sql`
    update switchyard.idempotency_key
    set locked_until = ${at} + make_interval(secs => ${leaseSeconds}), holder = ${holder}
    where client_id = ${clientId} and key = ${key} and state = ${IDEMPOTENCY_STATES.inProgress}
      and (locked_until <= ${at} or switchyard.idempotency_holder_gone(holder) or (${ownIdle}::boolean and holder = ${holder}))
    returning 1`.execute(db);
  return result.rows.length > 0;
}

/** Marks the key done; `responseBody`, when given, replaces the answer stored at the claim. */
export async function completeIdempotencyKey(db: Db, clientId: string, key: string, responseBody?: unknown): Promise<void> {
  const body = responseBody === undefined ? null : JSON.stringify(responseBody);
  await sql`
    update switchyard.idempotency_key
    set state = ${IDEMPOTENCY_STATES.done}, locked_until = null, response_body = coalesce(${body}::jsonb, response_body)
    where client_id = ${clientId} and key = ${key}`.execute(db);
}

/** After a failed attempt: the next retry may take over at once (and first looks in the log). */
export async function expireIdempotencyLock(db: Db, clientId: string, key: string, now?: Date): Promise<void> {
  await sql`
    update switchyard.idempotency_key set locked_until = ${sqlNow(now)}
    where client_id = ${clientId} and key = ${key} and state = ${IDEMPOTENCY_STATES.inProgress}`.execute(db);
}

/** How many of these messages are in the log: did an earlier attempt commit them? */
export async function countLoggedMessages(db: Db, ids: string[]): Promise<number> {
  const result = await sql<{ n: number }>`
    select count(*)::int as n from switchyard.message where id = any (${ids}::uuid[])`.execute(db);
  return result.rows[0]?.n ?? 0;
}

/** Deletes up to `limit` expired keys; the upkeep job calls it until it returns less. */
export async function deleteExpiredIdempotencyKeys(db: Db, limit: number, now?: Date): Promise<number> {
  const result = await sql`
    delete from switchyard.idempotency_key
    where ctid = any (array(select ctid from switchyard.idempotency_key where expires_at <= ${sqlNow(now)} limit ${limit}))`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
