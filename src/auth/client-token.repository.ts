// The one query authentication needs: which active client a token hash belongs to. It lives with
// auth, below the features, because every route that admits a client depends on it.
import type { Db } from '../db/database.ts';

/** An active client as authentication finds it (and as routes see it on c.var.client). */
export interface ClientRecord {
  id: string;
  name: string;
  created_at: Date;
}

export async function findClientByTokenHash(db: Db, tokenHash: Buffer): Promise<ClientRecord | undefined> {
  return db
    .selectFrom('switchyard.client')
    .select(['id', 'name', 'created_at'])
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}
