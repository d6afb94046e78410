import { sql } from 'kysely';
import type { Db } from './database.ts';

/** The group role that migration 0011 grants the service's rights to. */
export const SERVICE_GROUP_ROLE = 'switchyard_service';
/** The login the service uses on the embedded database: a member of SERVICE_GROUP_ROLE, nothing more. */
export const EMBEDDED_SERVICE_LOGIN = 'switchyard_app';

/**
 * Makes EMBEDDED_SERVICE_LOGIN a role that logs in with `password` and has switchyard_service's
 * rights and no others (no superuser, no role or database creation). Run by the owner, after the
 * migrations have made switchyard_service.
 */
export async function ensureServiceLogin(owner: Db, password: string): Promise<void> {
  const login = EMBEDDED_SERVICE_LOGIN;
  const found = await sql<{ found: boolean }>`select exists (select from pg_roles where rolname = ${login}) as found`.execute(owner);
  const verb = found.rows[0]!.found ? 'alter' : 'create';
  // CREATE and ALTER ROLE take no parameters: format() quotes the password.
  const statement = await sql<{ text: string }>`
    select format(${`${verb} role %I with login nosuperuser nocreatedb nocreaterole inherit password %L`}, ${login}::text, ${password}::text) as text`
    .execute(owner);
  await sql.raw(statement.rows[0]!.text).execute(owner);
  await sql.raw(`grant ${SERVICE_GROUP_ROLE} to ${login}`).execute(owner);
}
