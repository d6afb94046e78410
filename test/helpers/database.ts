// A fresh database per test file, cloned from the migrated template (docs/conventions.md, Tests).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, createPool, type Db } from '../../src/db/database.ts';
import { databaseUrl } from '../../src/db/embedded-postgres.ts';
import { createLogger } from '../../src/logger.ts';

export interface TestDatabase {
  url: string;
  db: Db;
  pool: pg.Pool;
  drop(): Promise<void>;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('serverUrl') });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name} template ${inject('templateDatabase')}`);
  const url = databaseUrl(inject('serverUrl'), name);
  const pool = createPool({ url, max: 10, statementTimeoutMs: 60_000, idleInTransactionTimeoutMs: 60_000, applicationName: 'switchyard:test' }, createLogger('silent'));
  const db = createDb(pool);
  return {
    url,
    db,
    pool,
    drop: async () => {
      await db.destroy();
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}
