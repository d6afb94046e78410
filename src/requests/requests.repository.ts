import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { OutgoingMessageRow } from '../messages/outgoing-message.ts';

export interface ReplyRow extends OutgoingMessageRow {
  /** The request this row may answer. */
  request_id: string;
  created_at: Date;
  /** created_at in microseconds since the epoch: a Date keeps only milliseconds, a cursor needs all. */
  created_us: string;
}

export interface ReplyWait {
  requestId: string;
  correlationId: string;
  replyTo: string;
  /** The last candidate refused (not from an answerer): only later ones are read again. */
  after?: { us: string; id: string };
}

/**
 * For every waiting request at once, the first `perRequest` messages to its reply_to with its
 * correlation id that the log took after the request, oldest first. "After" is by the database's
 * clock (created_at), not by id: ids come from each router's clock, and a responder whose clock
 * is a little behind would otherwise never answer. The id bound only lets old partitions be
 * skipped, with a minute to spare for such clocks.
 */
export async function listRepliesAfter(db: Db, waits: ReplyWait[], perRequest: number): Promise<ReplyRow[]> {
  if (waits.length === 0) return [];
  const result = await sql<ReplyRow>`
    select w.request_id::text as request_id, m.id, m.sender, m.to_address, m.type, m.payload, m.headers, m.created_at,
           ((extract(epoch from m.created_at) * 1000000)::bigint)::text as created_us
    from unnest(${waits.map((w) => w.requestId)}::uuid[], ${waits.map((w) => w.correlationId)}::text[],
                ${waits.map((w) => w.replyTo)}::text[], ${waits.map((w) => w.after?.us ?? null)}::bigint[],
                ${waits.map((w) => w.after?.id ?? null)}::uuid[])
           as w(request_id, correlation_id, reply_to, after_us, after_id)
    cross join lateral (select r.created_at from switchyard.message r where r.id = w.request_id) request
    cross join lateral (
      select m.id, m.sender, m.to_address, m.type, m.payload, m.headers, m.created_at
      from switchyard.message m
      where m.correlation_id = w.correlation_id and m.to_address = w.reply_to
        and m.id >= switchyard.uuid_floor(request.created_at - interval '1 minute')
        and (m.created_at, m.id) > (coalesce(timestamptz 'epoch' + w.after_us * interval '1 microsecond', request.created_at),
                                    coalesce(w.after_id, w.request_id))
      order by m.created_at, m.id
      limit ${perRequest}
    ) m
    order by w.request_id, m.created_at, m.id`.execute(db);
  return result.rows;
}
