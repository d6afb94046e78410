// A throwaway embedded PostgreSQL holding one migrated database, for the scripts that measure what
// single statements cost the database alone (npm run bench:claims, bench:lanes). It is started,
// handed to `measure` as a connected client, and stopped and deleted whatever happens; a failure
// is printed and sets the exit code.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { databaseUrl, startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { migrateToLatest, withMigrationDb } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';

export async function withScratchDatabase(name: 'claims' | 'lanes', measure: (db: pg.Client) => Promise<void>): Promise<void> {
  const log = createLogger('warn');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `switchyard-${name}-`));
  const cluster = await startEmbeddedPostgres({ dataDir, port: 0, log, settings: { shared_buffers: '1GB' } });
  try {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = databaseUrl(cluster.url, name);
    await withMigrationDb(url, log, migrateToLatest);
    const db = new pg.Client({ connectionString: url });
    db.on('error', () => undefined); // the cluster stopping under it
    await db.connect();
    try {
      await measure(db);
    } finally {
      await db.end();
    }
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  } finally {
    await cluster.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
