import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface DeadLetterFilter {
  clientId?: string | undefined;
  /** Matches last_error case-insensitively, anywhere in the text. */
  errorLike?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

export interface DeadLetterRow {
  client_id: string;
  client_name: string;
  message_id: string;
  reason: 'max_receives' | 'overflow';
  receive_count: number;
  first_received_at: Date | null;
  last_received_at: Date | null;
  last_error: string | null;
  enqueued_at: Date;
  dead_at: Date;
  priority: number;
  group_id: string | null;
  sender: string | null;
  to_address: string | null;
  type: string | null;
  payload: unknown;
  headers: Record<string, string> | null;
  sent_at: Date | null;
  /** dead_at to the microsecond, in UTC (a Date keeps only milliseconds). */
  dead_at_exact: string;
}

/**
 * Where a page of dead letters ends. Dead letters buried by one statement share their dead_at, so
 * the time alone cannot say where the next page starts: the client and message ids break ties.
 * A time alone (from a caller, not a page) means everything that died before it.
 */
export interface DeadLetterPosition {
  deadAt: string;
  clientId?: string | undefined;
  messageId?: string | undefined;
}

const filterArgs = (f: DeadLetterFilter) => sql`${f.clientId ?? null}::bigint, ${f.errorLike ?? null}::text,
  ${f.since ?? null}::timestamptz, ${f.until ?? null}::timestamptz`;

/** Whether dead letter `d` matches the filter: the rule is switchyard.dead_letter_matches (0019), as redrive and purge use it. */
const matches = (f: DeadLetterFilter) => sql`switchyard.dead_letter_matches(d.client_id, d.last_error, d.dead_at, ${filterArgs(f)})`;

/** Newest first; `before` pages on to older ones. */
export async function listDeadLetters(
  db: Db, f: DeadLetterFilter, before: DeadLetterPosition | undefined, limit: number,
): Promise<DeadLetterRow[]> {
  const at = before?.deadAt ?? null;
  const clientId = before?.clientId ?? null;
  const messageId = before?.messageId ?? null;
  const result = await sql<DeadLetterRow>`
    select client_id, client_name, message_id, reason, receive_count, first_received_at, last_received_at, last_error,
           enqueued_at, dead_at, priority, group_id, sender, to_address, type, payload, headers, sent_at,
           to_char(dead_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as dead_at_exact
    from switchyard.dead_letters d
    where ${matches(f)}
      and (${at}::timestamptz is null or dead_at < ${at}::timestamptz
           or (${clientId}::bigint is not null and dead_at = ${at}::timestamptz
               and (client_id, message_id) < (${clientId}::bigint, ${messageId}::uuid)))
    order by dead_at desc, client_id desc, message_id desc
    limit ${limit}`.execute(db);
  return result.rows;
}

export async function countDeadLetters(db: Db, f: DeadLetterFilter): Promise<number> {
  const result = await sql<{ n: number }>`
    select count(*)::int as n from switchyard.dead_letter d where ${matches(f)}`.execute(db);
  return result.rows[0]?.n ?? 0;
}

/** One bounded batch back to the queues (switchyard.redrive_dead_letters); returns how many moved. */
export async function redriveDeadLetterBatch(db: Db, f: DeadLetterFilter, batchSize: number): Promise<number> {
  const result = await sql<{ n: number }>`select switchyard.redrive_dead_letters(${filterArgs(f)}, ${batchSize}) as n`.execute(db);
  return result.rows[0]?.n ?? 0;
}

/** One bounded batch deleted (switchyard.purge_dead_letters); returns how many. */
export async function purgeDeadLetterBatch(db: Db, f: DeadLetterFilter, batchSize: number): Promise<number> {
  const result = await sql<{ n: number }>`select switchyard.purge_dead_letters(${filterArgs(f)}, ${batchSize}) as n`.execute(db);
  return result.rows[0]?.n ?? 0;
}
