import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface ReplyRow {
  /** The request this row may answer. */
  request_id: string;
  id: string;
  sender: string;
  to_address: string;
  type: string | null;
  payload: unknown;
  headers: Record<string, string> | null;
  created_at: Date;
}

export interface ReplyWait {
  requestId: string;
  correlationId: string;
  replyTo: string;
  /** Only messages with a greater id: newer than the request, and past candidates already refused. */
  afterId: string;
}

/**
 * For every waiting request at once, the first `perRequest` messages to its reply_to with its
 * correlation id and an id after its afterId, in id order. Ids are UUIDv7 and the log is
 * partitioned by id, so "newer than the request" also prunes old partitions.
 */
export async function listRepliesAfter(db: Db, waits: ReplyWait[], perRequest: number): Promise<ReplyRow[]> {
  if (waits.length === 0) return [];
  const result = await sql<ReplyRow>`
    select w.request_id::text as request_id, m.id, m.sender, m.to_address, m.type, m.payload, m.headers, m.created_at
    from unnest(${waits.map((w) => w.requestId)}::uuid[], ${waits.map((w) => w.correlationId)}::text[],
                ${waits.map((w) => w.replyTo)}::text[], ${waits.map((w) => w.afterId)}::uuid[])
           as w(request_id, correlation_id, reply_to, after_id)
    cross join lateral (
      select m.id, m.sender, m.to_address, m.type, m.payload, m.headers, m.created_at
      from switchyard.message m
      where m.correlation_id = w.correlation_id and m.to_address = w.reply_to and m.id > w.after_id
      order by m.id
      limit ${perRequest}
    ) m
    order by w.request_id, m.id`.execute(db);
  return result.rows;
}
