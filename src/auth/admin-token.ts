// The admin token: SWITCHYARD_ADMIN_TOKEN when set; otherwise generated on the first start,
// printed once, and from then on known only by its hash (kept in switchyard_secret.setting).
import type { Db } from '../db/database.ts';
import { getAdminTokenHash, insertAdminTokenHash, replaceAdminTokenHash } from './admin-token.repository.ts';
import { generateToken, hashToken } from './tokens.ts';

export interface AdminToken {
  hash: Buffer;
  /** Set only on the start that generated it: the one time it can be shown. */
  generated: string | undefined;
}

export async function resolveAdminToken(db: Db, configured: string | undefined): Promise<AdminToken> {
  if (configured) return { hash: hashToken(configured), generated: undefined };
  const token = generateToken();
  // Replicas starting together race here; the insert decides which token wins.
  if (await insertAdminTokenHash(db, hashToken(token).toString('hex'))) return { hash: hashToken(token), generated: token };
  return { hash: Buffer.from(await getAdminTokenHash(db), 'hex'), generated: undefined };
}

/** Replaces the stored admin token with a new one and returns it (CLI: admin-token rotate). */
export async function rotateAdminToken(db: Db): Promise<string> {
  const token = generateToken();
  await replaceAdminTokenHash(db, hashToken(token).toString('hex'));
  return token;
}
