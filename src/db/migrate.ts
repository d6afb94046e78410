// Schema migrations: numbered SQL files in migrations/ (NNNN_name.up.sql, NNNN_name.down.sql),
// applied by kysely's Migrator. The Migrator holds a Postgres advisory lock while it works, so
// replicas starting together apply each migration once, and runs the pending ones in a
// transaction: a failing migration leaves the schema as it was. Shipped files are never edited.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely/migration';
import type { Logger } from '../logger.ts';
import { createDb, createPool, type Db } from './database.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const FILE_PATTERN = /^(\d{4}_[a-z0-9_]+)\.(up|down)\.sql$/;

class SqlFileMigrationProvider implements MigrationProvider {
  readonly #dir: string;
  constructor(dir: string) {
    this.#dir = dir;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.#dir)).filter((file) => FILE_PATTERN.test(file));
    const migrations: Record<string, Migration> = {};
    for (const file of files.filter((f) => f.endsWith('.up.sql'))) {
      const name = file.replace(/\.up\.sql$/, '');
      const up = await readFile(path.join(this.#dir, file), 'utf8');
      const downFile = path.join(this.#dir, `${name}.down.sql`);
      const down = files.includes(`${name}.down.sql`) ? await readFile(downFile, 'utf8') : undefined;
      migrations[name] = {
        // Without parameters, pg sends the text as one simple query: several statements are fine.
        up: async (db) => void (await sql.raw(up).execute(db)),
        ...(down === undefined ? {} : { down: async (db) => void (await sql.raw(down).execute(db)) }),
      };
    }
    return migrations;
  }
}

export function createMigrator(db: Db, dir = MIGRATIONS_DIR): Migrator {
  return new Migrator({ db, provider: new SqlFileMigrationProvider(dir), migrationTableSchema: 'switchyard' });
}

function unwrap(result: MigrationResultSet): string[] {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const error = result.error instanceof Error ? result.error : new Error(String(result.error));
    error.message = `migration ${failed?.migrationName ?? '(setup)'} failed: ${error.message}`;
    throw error;
  }
  return (result.results ?? []).map((r) => `${r.direction === 'Up' ? 'applied' : 'reverted'} ${r.migrationName}`);
}

export const migrateToLatest = async (db: Db) => unwrap(await createMigrator(db).migrateToLatest());
export const migrateUp = async (db: Db) => unwrap(await createMigrator(db).migrateUp());
export const migrateDown = async (db: Db) => unwrap(await createMigrator(db).migrateDown());

export async function migrationStatus(db: Db): Promise<{ name: string; appliedAt: Date | undefined }[]> {
  const migrations = await createMigrator(db).getMigrations();
  return migrations.map((m) => ({ name: m.name, appliedAt: m.executedAt }));
}

/** Writes an empty pair of migration files numbered after the last one; returns their paths. */
export async function createMigrationFiles(name: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
  if (!slug) throw new Error('a migration needs a name made of letters, digits or underscores');
  const numbers = (await readdir(dir)).map((f) => FILE_PATTERN.exec(f)?.[1]?.slice(0, 4)).filter(Boolean).map(Number);
  const next = String(Math.max(0, ...numbers) + 1).padStart(4, '0');
  const files = ['up', 'down'].map((direction) => path.join(dir, `${next}_${slug}.${direction}.sql`));
  await writeFile(files[0]!, `-- ${slug}: what this migration changes and why.\n`, { flag: 'wx' });
  await writeFile(files[1]!, `-- Reverses ${next}_${slug}.\n`, { flag: 'wx' });
  return files;
}

/** Runs fn on a connection of its own without a statement timeout: migrations may build indexes. */
export async function withMigrationDb<T>(url: string, log: Logger, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = createDb(createPool({
    url, max: 1, statementTimeoutMs: 0, idleInTransactionTimeoutMs: 600_000, applicationName: 'switchyard:migrate',
  }, log));
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}
