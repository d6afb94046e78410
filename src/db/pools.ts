// The connection pools of one process, each with the session settings of the work it carries.
// Every pool is handed to `onOpen` the moment it exists, so that whoever opens them can close
// them all, after a failed start as after a stop.
import type { Socket } from 'node:net';
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { createDb, createPool, type Db } from './database.ts';
import { primaryReads, ReadReplica, type Reads } from './read-replica.ts';

export interface PoolUrls {
  /** The service login: owns nothing (migration 0011). */
  service: string;
  /** The owner login: migrations, partitions, pg-boss's tables. */
  owner: string;
  /** Set when DATABASE_URL names several hosts (db/primary-picker.ts). */
  stream: (() => Socket) | undefined;
  /** Session settings of the stage runners' connections (queue/stage-cursor.repository.ts). */
  stageSettings: Record<string, string>;
}

export interface Pools {
  /** The service pool's own handle: the listener shares its settings. */
  pool: pg.Pool;
  /** Commits that promise durability: publishes, registrations, policy changes. */
  db: Db;
  /** Stage batches, receives, acks and statistics: they commit without waiting for the disk (db/database.ts). */
  relaxedDb: Db;
  /** Stage runners: at most one connection per stage worker, never waiting behind receivers. */
  stageDb: Db;
  /** The owner's pool, or `db` when owner and service are one login. */
  ownerDb: Db;
  /** History, analytics and operator reads: on a streaming replica when one is configured. */
  reads: Reads;
}

/** The part of the configuration pools are made from (db/ sits below config.ts, so it names its own needs). */
export interface PoolSettings {
  roles: readonly string[];
  readReplicaUrl?: string | undefined;
  db: { poolMax: number; statementTimeoutMs: number; idleInTransactionTimeoutMs: number };
  stages: { maxWorkers: number };
}

export function openPools(config: PoolSettings, urls: PoolUrls, log: Logger, onOpen: (name: string, db: Db) => void): Pools {
  const poolOptions = {
    url: urls.service,
    max: config.db.poolMax,
    statementTimeoutMs: config.db.statementTimeoutMs,
    idleInTransactionTimeoutMs: config.db.idleInTransactionTimeoutMs,
    stream: urls.stream,
  };
  const open = (name: string, db: Db) => (onOpen(name, db), db);
  const pool = createPool({ ...poolOptions, applicationName: `switchyard:${config.roles.join(',')}` }, log);
  const db = open('pool', createDb(pool));
  const relaxedDb = open('relaxed pool', createDb(createPool({ ...poolOptions, applicationName: 'switchyard:relaxed', synchronousCommit: false }, log)));
  const stageCount = (['routing', 'persistence', 'analytics'] as const).filter((role) => config.roles.includes(role)).length;
  const stageDb = open('stage pool', createDb(createPool({
    ...poolOptions, max: Math.max(1, stageCount * config.stages.maxWorkers), applicationName: 'switchyard:stages',
    synchronousCommit: false, settings: urls.stageSettings,
  }, log)));
  const ownerDb = urls.owner === urls.service
    ? db
    : open('owner pool', createDb(createPool({ ...poolOptions, url: urls.owner, max: 2, applicationName: 'switchyard:owner' }, log)));
  let reads = primaryReads(db);
  if (config.readReplicaUrl) {
    const replicaDb = open('replica pool', createDb(createPool({
      ...poolOptions, url: config.readReplicaUrl, stream: undefined, applicationName: 'switchyard:replica-reads',
    }, log)));
    reads = new ReadReplica(db, replicaDb, log.child({ component: 'read-replica' }));
  }
  return { pool, db, relaxedDb, stageDb, ownerDb, reads };
}
