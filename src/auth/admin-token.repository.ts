// The admin token's hash, kept in switchyard_secret.setting (readers of the switchyard schema cannot see it).
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

const SETTING_KEY = 'admin_token_sha256';

/** Stores the hash unless one is stored already; true when this one was stored. */
export async function insertAdminTokenHash(db: Db, hashHex: string): Promise<boolean> {
  const inserted = await sql<{ value: string }>`
    insert into switchyard_secret.setting (key, value) values (${SETTING_KEY}, ${hashHex})
    on conflict (key) do nothing
    returning value`.execute(db);
  return inserted.rows.length > 0;
}

export async function getAdminTokenHash(db: Db): Promise<string> {
  const stored = await db.selectFrom('switchyard_secret.setting').select('value').where('key', '=', SETTING_KEY).executeTakeFirstOrThrow();
  return stored.value;
}

/** Stores the hash in place of the one stored. */
export async function replaceAdminTokenHash(db: Db, hashHex: string): Promise<void> {
  await sql`
    insert into switchyard_secret.setting (key, value) values (${SETTING_KEY}, ${hashHex})
    on conflict (key) do update set value = excluded.value, updated_at = now()`.execute(db);
}
