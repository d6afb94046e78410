// Messages that failed a stage: retried with backoff from stage_retry, then kept in
// stage_dead_letter with their last error once their attempts are used up.
import { sql } from 'kysely';
import { sqlNow } from '../db/clock.repository.ts';
import { PREPARED, type Db, type Tx } from '../db/database.ts';

export interface StageRetryRow {
  message_id: string;
  attempts: number;
  first_failed_at: Date;
  last_error: string;
}

/**
 * The savepoint around one entry handled alone (a retry): a failure rolls back that entry's
 * writes and keeps the transaction, so the failure can be recorded in it.
 */
export async function createEntrySavepoint(tx: Tx): Promise<void> {
  await sql`savepoint stage_entry`.execute(tx);
}

export async function releaseEntrySavepoint(tx: Tx): Promise<void> {
  await sql`release savepoint stage_entry`.execute(tx);
}

export async function rollbackToEntrySavepoint(tx: Tx): Promise<void> {
  await sql`rollback to savepoint stage_entry`.execute(tx);
}

// `now` in these is an injected clock for tests (StageRunner's); the database's now() otherwise.

export async function insertStageRetry(tx: Tx, stage: string, messageId: string, error: string, delayMs: number, now?: Date): Promise<void> {
  await sql`
    insert into switchyard.stage_retry (stage, message_id, attempts, next_attempt_at, last_error)
    values (${stage}, ${messageId}, 1, ${sqlNow(now)} + make_interval(secs => ${delayMs / 1000}), ${error})
    on conflict (stage, message_id) do update
      set attempts = stage_retry.attempts + 1, next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error`.execute(tx);
}

export async function hasDueStageRetries(db: Db, stage: string, now?: Date): Promise<boolean> {
  const result = await sql<{ due: boolean }>`${PREPARED}
    select exists (select 1 from switchyard.stage_retry where stage = ${stage} and next_attempt_at <= ${sqlNow(now)}) as due`.execute(db);
  return result.rows[0]?.due ?? false;
}

/** Locks up to `limit` retries that are due; the caller deletes, reschedules or dead-letters each. */
export async function claimDueStageRetries(tx: Tx, stage: string, limit: number, now?: Date): Promise<StageRetryRow[]> {
  const result = await sql<StageRetryRow>`
    select message_id, attempts, first_failed_at, last_error
    from switchyard.stage_retry
    where stage = ${stage} and next_attempt_at <= ${sqlNow(now)}
    order by next_attempt_at
    limit ${limit}
    for update skip locked`.execute(tx);
  return result.rows;
}

export async function deleteStageRetry(tx: Tx, stage: string, messageId: string): Promise<void> {
  await sql`delete from switchyard.stage_retry where stage = ${stage} and message_id = ${messageId}`.execute(tx);
}

export async function rescheduleStageRetry(tx: Tx, stage: string, messageId: string, error: string, delayMs: number, now?: Date): Promise<void> {
  await sql`
    update switchyard.stage_retry
    set attempts = attempts + 1, next_attempt_at = ${sqlNow(now)} + make_interval(secs => ${delayMs / 1000}), last_error = ${error}
    where stage = ${stage} and message_id = ${messageId}`.execute(tx);
}

export async function moveStageRetryToDeadLetter(tx: Tx, stage: string, messageId: string, error: string): Promise<void> {
  await sql`
    with gone as (
      delete from switchyard.stage_retry where stage = ${stage} and message_id = ${messageId}
      returning stage, message_id, attempts, first_failed_at
    )
    insert into switchyard.stage_dead_letter (stage, message_id, attempts, first_failed_at, last_error)
    select stage, message_id, attempts + 1, first_failed_at, ${error} from gone
    on conflict (stage, message_id) do update
      set attempts = excluded.attempts, failed_at = now(), last_error = excluded.last_error`.execute(tx);
}

export interface StageDeadLetterRow {
  stage: string;
  message_id: string;
  attempts: number;
  first_failed_at: Date;
  failed_at: Date;
  last_error: string;
}

/** A stage's dead letters (every stage's when `stage` is undefined), the newest first, at most `limit`. */
export async function listStageDeadLetters(db: Db, stage: string | undefined, limit: number): Promise<StageDeadLetterRow[]> {
  const result = await sql<StageDeadLetterRow>`
    select stage, message_id, attempts, first_failed_at, failed_at, last_error
    from switchyard.stage_dead_letter
    where ${stage ?? null}::text is null or stage = ${stage ?? null}
    order by failed_at desc, message_id
    limit ${limit}`.execute(db);
  return result.rows;
}

/**
 * Moves up to `limit` of a stage's dead letters (all of them, or those of `messageIds`), the
 * oldest first, back to its retry table, due now: the stage runs them again on its next look for
 * due retries. Returns how many moved.
 */
export async function redriveStageDeadLetters(db: Db, stage: string, messageIds: string[] | undefined, limit: number): Promise<number> {
  const result = await sql`
    with picked as (
      select message_id from switchyard.stage_dead_letter
      where stage = ${stage} and (${messageIds ?? null}::uuid[] is null or message_id = any (${messageIds ?? null}::uuid[]))
      order by failed_at, message_id
      limit ${limit}
      for update skip locked
    ), moved as (
      delete from switchyard.stage_dead_letter d using picked
      where d.stage = ${stage} and d.message_id = picked.message_id
      returning d.stage, d.message_id, d.first_failed_at, d.last_error
    )
    insert into switchyard.stage_retry (stage, message_id, attempts, next_attempt_at, first_failed_at, last_error)
    select stage, message_id, 0, now(), first_failed_at, last_error from moved
    on conflict do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
