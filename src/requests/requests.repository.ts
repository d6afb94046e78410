import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface ReplyRow {
  id: string;
  sender: string;
  to_address: string;
  type: string | null;
  payload: unknown;
  headers: Record<string, string> | null;
  created_at: Date;
}

/** The first message other than the request itself sent to `replyTo` with this correlation id. */
export async function findReply(db: Db, correlationId: string, replyTo: string, requestId: string): Promise<ReplyRow | undefined> {
  const result = await sql<ReplyRow>`
    select id, sender, to_address, type, payload, headers, created_at
    from switchyard.message
    where correlation_id = ${correlationId} and to_address = ${replyTo} and id <> ${requestId}
    order by id
    limit 1`.execute(db);
  return result.rows[0];
}
