import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** One round trip that needs nothing but a working connection: readiness asks it. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
