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

/**
 * Appends messages to the log in one statement (switchyard.append_messages, which SQL publish()
 * calls too) and returns, per message, the id it ended up with. The rows travel as one JSON
 * document: a single parameter, parsed once by the server, whatever the batch size. A message
 * whose sender already published its dedup_id within the window, or earlier in the batch, is not
 * written: its id is the first one's.
 */
export async function insertMessages(db: Db, messages: NewMessage[], dedupWindowSeconds: number): Promise<string[]> {
  const result = await sql<{ requested: string; first_id: string }>`${PREPARED}
    select requested, first_id from switchyard.append_messages(${JSON.stringify(messages)}::json, ${dedupWindowSeconds}::int)`.execute(db);
  const firsts = new Map(result.rows.map((row) => [row.requested, row.first_id]));
  return messages.map((m) => firsts.get(m.id) ?? m.id);
}
