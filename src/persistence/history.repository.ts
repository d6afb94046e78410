import { sql } from 'kysely';
import { PREPARED, type Db, type Tx } from '../db/database.ts';
import type { OutgoingMessageRow } from '../messages/outgoing-message.ts';

/**
 * Copies messages from the log into history, reading them there by id (no payload round trip):
 * one call of switchyard.keep_history (migration 0029), which the persistence stage's one-statement
 * batch runs too.
 */
export async function insertHistoryFromLog(tx: Tx, messageIds: string[]): Promise<void> {
  await sql`${PREPARED} select switchyard.keep_history(${messageIds}::uuid[])`.execute(tx);
}

export interface HistoryRow extends OutgoingMessageRow {
  created_at: Date;
  correlation_id: string | null;
  reply_to: string | null;
  /** The content label of a message on a classified topic (analytics), if it has one. */
  label: string | null;
  label_score: number | null;
  label_model_version: number | null;
}

/** The conversation of `address` as seen by `sender` (a DM is the pair of both ends). */
export async function listHistoryBefore(
  db: Db, sender: string, address: string, before: string | undefined, limit: number,
): Promise<HistoryRow[]> {
  const result = await sql<HistoryRow>`
    select h.message_id as id, h.sender, h.to_address, h.type, h.payload, h.headers, h.created_at, h.correlation_id, h.reply_to,
           l.label, l.score as label_score, l.model_version as label_model_version
    from switchyard.history h
    left join switchyard.message_label l on l.message_id = h.message_id
    where h.conversation = switchyard.conversation_of(${sender}, ${address})
      and (${before ?? null}::uuid is null or h.message_id < ${before ?? null}::uuid)
    order by h.message_id desc
    limit ${limit}`.execute(db);
  return result.rows;
}
