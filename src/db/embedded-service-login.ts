// On the embedded database the service does not connect as the cluster's superuser: after the
// migrations (run as the superuser, the owner of the schema) it logs in as switchyard_app, a
// member of switchyard_service (migration 0011), with a password kept in the data folder next to
// the superuser's, readable by this user only.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { withMigrationDb } from './migrate.ts';
import { EMBEDDED_SERVICE_LOGIN, ensureServiceLogin } from './service-role.repository.ts';

const PASSWORD_FILE = 'pg-service-password';

/** The URL the service connects with, given the embedded database's superuser URL. */
export async function embeddedServiceUrl(ownerUrl: string, dataDir: string, log: Logger): Promise<string> {
  const file = path.join(path.resolve(dataDir), PASSWORD_FILE);
  let password = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (!password) {
    password = randomBytes(24).toString('base64url');
    await writeFile(file, `${password}\n`, { mode: 0o600 });
  }
  await withMigrationDb(ownerUrl, log, (owner) => ensureServiceLogin(owner, password));
  const url = new URL(ownerUrl);
  url.username = EMBEDDED_SERVICE_LOGIN;
  url.password = password;
  return url.toString();
}
