// The database: external, or embedded in the data folder; migrated; its pools opened; today's
// and the coming days' partitions made. Everything opened is on the undo stack at once.
import type { Config } from '../config.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded-postgres.ts';
import { embeddedServiceUrl } from '../db/embedded-service-login.ts';
import { migrateToLatest, withMigrationDb } from '../db/migrate.ts';
import { openPools, type Pools } from '../db/pools.ts';
import { connectDatabase, type DatabaseConnection } from '../db/primary-picker.ts';
import type { Logger } from '../logger.ts';
import { STAGE_SESSION_SETTINGS } from '../queue/stage-cursor.repository.ts';
import type { Teardown } from '../teardown.ts';
import { ensurePartitions } from '../upkeep/partition-upkeep.ts';

export interface Database {
  pools: Pools;
  /** The service login's URL (what tests and the listener connect with). */
  databaseUrl: string;
  /** The owner login's URL: migrations and pg-boss. */
  ownerUrl: string;
  connection: DatabaseConnection;
  embedded: boolean;
}

export async function openDatabase(config: Config, migrate: boolean, log: Logger, teardown: Teardown): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  if (!config.databaseUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, log: log.child({ component: 'postgres' }) });
    teardown.push('embedded PostgreSQL', () => embedded!.stop());
  }
  // Several hosts in DATABASE_URL: every connection follows the writable one (db/primary-picker.ts).
  const connection = config.databaseUrl ? await connectDatabase(config.databaseUrl, log) : { url: embedded!.url, stream: undefined };
  // Two roles (migration 0011): the owner migrates and keeps the schema (partitions, pg-boss's
  // tables); everything else connects as the service, which owns nothing. On the embedded
  // database the owner is the cluster's superuser and the service logs in as switchyard_app.
  const ownerUrl = config.ownerDatabaseUrl ?? connection.url;
  if (migrate) {
    for (const line of await withMigrationDb(ownerUrl, log, migrateToLatest)) log.info('migration', { result: line });
  }
  const databaseUrl = config.databaseUrl ? connection.url : await embeddedServiceUrl(embedded!.url, config.dataDir, log);
  const pools = openPools(config, { service: databaseUrl, owner: ownerUrl, stream: connection.stream, stageSettings: STAGE_SESSION_SETTINGS }, log,
    (name, db) => teardown.push(name, () => db.destroy()));
  await ensurePartitions(pools.ownerDb, config.retention.partitionsAheadDays);
  return { pools, databaseUrl, ownerUrl, connection, embedded: embedded !== undefined };
}
