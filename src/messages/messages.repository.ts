import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** A message as the router writes it; the database adds xid, lane, conversation and times. */
export interface NewMessage {
  id: string;
  sender_id: string | null;
  sender: string;
  to_address: string;
  type: string | null;
  payload: unknown;
  headers: Record<string, string> | null;
  priority: number;
  delay_seconds: number;
  ttl_seconds: number | null;
  group_id: string | null;
  dedup_id: string | null;
  correlation_id: string | null;
  reply_to: string | null;
}

/**
 * Appends messages to the log in one statement. The rows travel as one JSON document: a single
 * parameter, parsed once by the server, whatever the batch size.
 */
export async function insertMessages(db: Db, messages: NewMessage[]): Promise<void> {
  await sql`
    insert into switchyard.message (id, lane, sender_id, sender, to_address, conversation, type, payload, headers,
                                    priority, deliver_at, expires_at, group_id, dedup_id, correlation_id, reply_to)
    select r.id, switchyard.lane_of(c.conversation), r.sender_id, r.sender, r.to_address, c.conversation, r.type,
           r.payload, r.headers, r.priority,
           case when r.delay_seconds > 0 then clock_timestamp() + make_interval(secs => r.delay_seconds) end,
           case when r.ttl_seconds is not null then clock_timestamp() + make_interval(secs => r.ttl_seconds) end,
           r.group_id, r.dedup_id, r.correlation_id, r.reply_to
    from jsonb_to_recordset(${JSON.stringify(messages)}::jsonb) as r(
           id uuid, sender_id bigint, sender text, to_address text, type text, payload jsonb, headers jsonb,
           priority smallint, delay_seconds integer, ttl_seconds integer, group_id text, dedup_id text,
           correlation_id text, reply_to text)
    cross join lateral (select switchyard.conversation_of(r.sender, r.to_address) as conversation) c`.execute(db);
}
