// Running the embedded PostgreSQL as root. PostgreSQL refuses to run as root, so as root we run it
// as the system user `postgres`, and that user must be able to reach two things: the binaries (in
// node_modules, inside the clone) and the cluster's data folder. From a clone under a home folder
// of mode 0700, such as /root, it can reach neither. We never loosen the permissions of a folder
// we do not own (the user's home); instead the binaries are copied, once per version, and the
// cluster is kept, under RELOCATED_BASE, which the postgres user can enter.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger.ts';

/** Where relocated binaries and clusters live: outside any home folder, on persistent storage. */
export const RELOCATED_BASE = '/var/lib/switchyard';

export interface PostgresUser {
  uid: number;
  gid: number;
}

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  pg_ctl: string;
}

/** The user to run PostgreSQL as: `postgres` when we are root (created if missing), else ourselves. */
export function postgresUserForRoot(log: Logger): PostgresUser | undefined {
  if (userInfo().uid !== 0) return undefined;
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  });
  try {
    return ids();
  } catch {
    log.warn('running as root: creating the system user "postgres" to run the embedded database');
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return ids();
  }
}

/** Whether `user` may open `file` for `mode` (test's -x, -r or -w): asked of the system, as that user. */
export function userCan(user: PostgresUser, mode: '-x' | '-r' | '-w', file: string): boolean {
  try {
    execFileSync('test', [mode, file], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A start that cannot be helped from here: its message is the one sentence a person needs. */
export class EmbeddedPostgresAccessError extends Error {}

function cannotRelocate(what: string, error: unknown): Error {
  return new EmbeddedPostgresAccessError(
    `the embedded PostgreSQL runs as the user "postgres", which cannot reach ${what}, and ${RELOCATED_BASE} ` +
    `could not be prepared for it (${(error as Error).message}): set SWITCHYARD_DATA_DIR to a folder that ` +
    'user can enter, or set DATABASE_URL to a PostgreSQL of your own',
  );
}

/**
 * The binaries, where `user` can run them: as installed when it can, else a copy under
 * RELOCATED_BASE made once per package version (copied aside, then renamed into place, so two
 * processes starting at once never see half a copy).
 */
export async function reachableBinaries(bin: PostgresBinaries, user: PostgresUser, log: Logger): Promise<PostgresBinaries> {
  if (userCan(user, '-x', bin.postgres)) return bin;
  const native = path.resolve(path.dirname(bin.postgres), '..');
  const { name, version } = JSON.parse(await readFile(path.join(native, '..', 'package.json'), 'utf8')) as { name: string; version: string };
  const target = path.join(RELOCATED_BASE, `${name.replace(/^@/, '').replace(/[^a-z0-9.-]+/gi, '-')}-${version}`);
  const relocated = (dir: string): PostgresBinaries => ({
    initdb: path.join(dir, 'bin', 'initdb'), postgres: path.join(dir, 'bin', 'postgres'), pg_ctl: path.join(dir, 'bin', 'pg_ctl'),
  });
  if (userCan(user, '-x', relocated(target).postgres)) return relocated(target);
  log.info('the postgres user cannot reach the binaries in node_modules: copying them', { to: target });
  const staging = `${target}.partial-${process.pid}`;
  try {
    await mkdir(RELOCATED_BASE, { recursive: true, mode: 0o755 });
    execFileSync('chmod', ['0755', RELOCATED_BASE]);
    await rm(staging, { recursive: true, force: true });
    await cp(native, staging, { recursive: true, verbatimSymlinks: true });
    execFileSync('chmod', ['-R', 'a+rX', staging]);
    await rename(staging, target).catch(async (error: NodeJS.ErrnoException) => {
      // Another process finished its copy first: use that one.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
      await rm(staging, { recursive: true, force: true });
    });
  } catch (error) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw cannotRelocate(`the binaries in ${native}`, error);
  }
  return relocated(target);
}

/**
 * The cluster's folder: `pgdata` inside the data folder when `user` can enter the data folder,
 * else a folder under RELOCATED_BASE named after the data folder's path, so the same data folder
 * always finds the same cluster. Root keeps the password and lock files in the data folder itself.
 */
export async function reachableClusterDir(dataDir: string, user: PostgresUser | undefined): Promise<string> {
  if (!user || userCan(user, '-x', dataDir)) return path.join(dataDir, 'pgdata');
  const relocated = path.dirname(relocatedClusterDir(dataDir));
  try {
    await mkdir(relocated, { recursive: true, mode: 0o755 });
    execFileSync('chmod', ['0755', RELOCATED_BASE, path.dirname(relocated), relocated]);
  } catch (error) {
    throw cannotRelocate(`the data folder ${dataDir}`, error);
  }
  return path.join(relocated, 'pgdata');
}

/** Where the cluster of `dataDir` lives when it had to be relocated (see reachableClusterDir). */
export function relocatedClusterDir(dataDir: string): string {
  const key = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  const name = path.basename(dataDir).replace(/[^a-z0-9.-]+/gi, '') || 'data';
  return path.join(RELOCATED_BASE, 'clusters', `${name}-${key}`, 'pgdata');
}
