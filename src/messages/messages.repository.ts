import { sql } from 'kysely';
import { PREPARED, type Db } from '../db/database.ts';

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
  deliver_at: string | null;
  ttl_seconds: number | null;
  group_id: string | null;
  dedup_id: string | null;
  correlation_id: string | null;
  reply_to: string | null;
}

/** Bytes a message occupies while it waits for a flush, roughly: its JSON as sent to the server. */
export function newMessageBytes(message: NewMessage): number {
  return JSON.stringify(message).length;
}

/** What an append wrote: per message the id it ended up with, and the lanes the batch is in. */
export interface AppendedMessages {
  ids: string[];
  /** The lanes of the batch's conversations, for the stages' wake-up (a repeat's lane included). */
  lanes: number[];
}

/**
 * Appends messages to the log in one statement (switchyard.append_messages, which SQL publish()
 * calls too) and returns, per message, the id it ended up with. The rows travel as one JSON
 * document: a single parameter, parsed once by the server, whatever the batch size. A message
 * whose sender already published its dedup_id within the window, or earlier in the batch, is not
 * written: its id is the first one's. The same statement names the batch's lanes, computed by the
 * functions the append uses (lane_of, conversation_of), from each distinct sender and address.
 */
export async function insertMessages(db: Db, messages: NewMessage[], dedupWindowSeconds: number): Promise<AppendedMessages> {
  const pairs = new Map<string, NewMessage>();
  for (const m of messages) pairs.set(`${m.sender}\n${m.to_address}`, m);
  const senders = [...pairs.values()].map((m) => m.sender);
  const addresses = [...pairs.values()].map((m) => m.to_address);
  const result = await sql<{ requested: string | null; first_id: string | null; lanes: number[] }>`${PREPARED}
    select a.requested, a.first_id, l.lanes
    from (select array(select distinct switchyard.lane_of(switchyard.conversation_of(p.sender, p.to_address))
                       from unnest(${senders}::text[], ${addresses}::text[]) as p(sender, to_address))::int[] as lanes) l
    left join switchyard.append_messages(${JSON.stringify(messages)}::json, ${dedupWindowSeconds}::int) a on true`.execute(db);
  const firsts = new Map(result.rows.flatMap((row) => (row.requested === null ? [] : [[row.requested, row.first_id!] as const])));
  return { ids: messages.map((m) => firsts.get(m.id) ?? m.id), lanes: result.rows[0]?.lanes ?? [] };
}
