// PostgreSQL servers of the machine's own installation (Debian's postgresql-NN packages), for the
// tests that need what the embedded server's package lacks: pg_basebackup for a streaming replica,
// and an older major version (15) to prove the schema works there. As root, PostgreSQL runs as the
// `postgres` user, in folders that user owns.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const POSTGRES_LIB = '/usr/lib/postgresql';

/** The bin folder of the newest installed major version (or SWITCHYARD_PG_BIN), or why there is none. */
export function findPostgresBin(): { bin: string; version: number } | { reason: string } {
  const pick = (bin: string) => ['initdb', 'pg_ctl', 'pg_basebackup'].every((tool) => existsSync(path.join(bin, tool)));
  if (process.env.SWITCHYARD_PG_BIN) {
    const bin = process.env.SWITCHYARD_PG_BIN;
    return pick(bin) ? { bin, version: Number(path.basename(path.dirname(bin))) || 0 } : { reason: `SWITCHYARD_PG_BIN=${bin} lacks initdb, pg_ctl or pg_basebackup` };
  }
  const versions = existsSync(POSTGRES_LIB) ? readdirSync(POSTGRES_LIB).map(Number).filter((v) => v > 0).sort((a, b) => b - a) : [];
  for (const version of versions) {
    const bin = path.join(POSTGRES_LIB, String(version), 'bin');
    if (pick(bin)) return { bin, version };
  }
  return { reason: `no PostgreSQL server package with pg_basebackup under ${POSTGRES_LIB} (install postgresql-15, or set SWITCHYARD_PG_BIN)` };
}

/** As root: the postgres user's ids (PostgreSQL refuses to run as root); otherwise undefined. */
export async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}

/** Runs a PostgreSQL tool, as the postgres user when we are root. */
export async function runTool(bin: string, tool: string, args: string[]): Promise<string> {
  const user = await postgresUser();
  const { stdout } = await run(path.join(bin, tool), args, { ...(user ?? {}), cwd: tmpdir(), env: { ...process.env, LC_ALL: 'C' } });
  return stdout;
}

/** A folder the postgres user owns (0700 is what PostgreSQL wants for a data folder). */
export async function postgresFolder(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const user = await postgresUser();
  if (user) await chown(dir, user.uid, user.gid);
  return dir;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface LocalServer {
  port: number;
  dataDir: string;
  url(database?: string): string;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  remove(): Promise<void>;
}

function localServer(bin: string, dataDir: string, port: number): LocalServer {
  return {
    port,
    dataDir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    stop: async (mode = 'fast') => void (await runTool(bin, 'pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop']).catch(() => undefined)),
    remove: () => rm(path.dirname(dataDir), { recursive: true, force: true }),
  };
}

async function start(bin: string, dataDir: string, port: number, settings: Record<string, string>): Promise<void> {
  const options = Object.entries({ port: String(port), listen_addresses: '127.0.0.1', unix_socket_directories: dataDir, ...settings })
    .map(([name, value]) => `-c ${name}=${value}`).join(' ');
  await runTool(bin, 'pg_ctl', ['-D', dataDir, '-l', path.join(dataDir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
}

/** A new primary with trust authentication on 127.0.0.1 (replication included), durability off unless asked. */
export async function startPrimary(bin: string, settings: Record<string, string> = {}): Promise<LocalServer> {
  const dataDir = path.join(await postgresFolder('switchyard-pg-'), 'primary');
  await runTool(bin, 'initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  await start(bin, dataDir, port, { fsync: 'off', max_connections: '200', ...settings });
  return localServer(bin, dataDir, port);
}

/** A streaming standby of `primary`, made by pg_basebackup next to it, hot (readable). */
export async function startStandby(bin: string, primary: LocalServer, settings: Record<string, string> = {}): Promise<LocalServer> {
  const dataDir = path.join(path.dirname(primary.dataDir), `standby-${await freePort()}`);
  await runTool(bin, 'pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
  const port = await freePort();
  await start(bin, dataDir, port, { fsync: 'off', max_connections: '200', hot_standby: 'on', ...settings });
  return localServer(bin, dataDir, port);
}
