import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

const SETTING_KEY = 'admin_session_key';

/**
 * The key that signs admin sessions: made on the first start, shared by every process through
 * switchyard_secret.setting. Deleting the row (and restarting) ends every session.
 */
export async function ensureAdminSessionKey(db: Db): Promise<Buffer> {
  // Replicas starting together race here; the insert decides which key wins.
  await sql`
    insert into switchyard_secret.setting (key, value) values (${SETTING_KEY}, ${randomBytes(32).toString('hex')})
    on conflict (key) do nothing`.execute(db);
  const stored = await db.selectFrom('switchyard_secret.setting').select('value').where('key', '=', SETTING_KEY).executeTakeFirstOrThrow();
  return Buffer.from(stored.value, 'hex');
}
