// A fresh database per test file, cloned from the migrated template (docs/conventions.md, Tests).
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { expect, inject } from 'vitest';
import { createDb, createPool, type Db } from '../../src/db/database.ts';
import { databaseUrl } from '../../src/db/embedded-postgres.ts';
import { createLogger } from '../../src/logger.ts';
import { eventually } from './factories.ts';

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

/** application_name of every client connection to the test database but the test's own. */
export async function serviceConnections(database: TestDatabase): Promise<string[]> {
  const result = await sql<{ application_name: string }>`
    select application_name from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and application_name <> 'switchyard:test'
      and backend_type = 'client backend'`.execute(database.db);
  return result.rows.map((row) => row.application_name);
}

/** Fails unless every service connection is gone (a backend leaves pg_stat_activity a moment after its client said goodbye). */
export async function expectNoServiceConnections(database: TestDatabase): Promise<void> {
  await eventually(async () => ((await serviceConnections(database)).length === 0 ? true : undefined), 5_000, 'no connections')
    .catch(async () => expect(await serviceConnections(database)).toEqual([]));
}

/**
 * Login roles made for one test file, each a member of one group role and nothing else. Roles are
 * cluster-wide, so drop() removes them; call it before the database is dropped.
 */
export class TestLogins {
  readonly #database: TestDatabase;
  readonly #names: string[] = [];

  constructor(database: TestDatabase) {
    this.#database = database;
  }

  /** A new login in `group`, and its URL on the test database. */
  async in(group: string): Promise<string> {
    const name = `t_${group.replace('switchyard_', '')}_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await sql.raw(`create role ${name} login password '${password}' in role ${group}`).execute(this.#database.db);
    this.#names.push(name);
    const url = new URL(this.#database.url);
    url.username = name;
    url.password = password;
    return url.toString();
  }

  async drop(): Promise<void> {
    for (const name of this.#names.splice(0)) await sql.raw(`drop role if exists ${name}`).execute(this.#database.db);
  }
}
