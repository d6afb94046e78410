// The admin token: SWITCHYARD_ADMIN_TOKEN when set; otherwise generated on the first start,
// printed once, and from then on known only by its hash (kept in switchyard_secret.setting).
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { generateToken, hashToken } from './tokens.ts';

const SETTING_KEY = 'admin_token_sha256';

export interface AdminToken {
  hash: Buffer;
  /** Set only on the start that generated it: the one time it can be shown. */
  generated: string | undefined;
}

export async function resolveAdminToken(db: Db, configured: string | undefined): Promise<AdminToken> {
  if (configured) return { hash: hashToken(configured), generated: undefined };
  const token = generateToken();
  // Replicas starting together race here; the insert decides which token wins.
  const inserted = await sql<{ value: string }>`
    insert into switchyard_secret.setting (key, value) values (${SETTING_KEY}, ${hashToken(token).toString('hex')})
    on conflict (key) do nothing
    returning value`.execute(db);
  if (inserted.rows.length > 0) return { hash: hashToken(token), generated: token };
  const stored = await db.selectFrom('switchyard_secret.setting').select('value').where('key', '=', SETTING_KEY).executeTakeFirstOrThrow();
  return { hash: Buffer.from(stored.value, 'hex'), generated: undefined };
}

/** Replaces the stored admin token with a new one and returns it (CLI: admin-token rotate). */
export async function rotateAdminToken(db: Db): Promise<string> {
  const token = generateToken();
  await sql`
    insert into switchyard_secret.setting (key, value) values (${SETTING_KEY}, ${hashToken(token).toString('hex')})
    on conflict (key) do update set value = excluded.value, updated_at = now()`.execute(db);
  return token;
}
