// The connection pools and the typed query builder on top of them. Every connection of ours
// carries a statement timeout and an idle-in-transaction timeout, so that no session of ours can
// hold back vacuum for long (docs/conventions.md, Database sessions).
//
// Pools: a durable one, whose commits wait for the disk, for everything whose answer promises a
// durable change (a 202 at ingest, a registration); and relaxed ones (synchronous_commit off) for
// stage batches (a pool of their own, with their session settings) and for receives, acks, nacks
// and statistics. A crash can undo the last
// fraction of a second of relaxed commits, and that is always safe here: a stage batch rolls back
// with its cursor advance and is read again; a lost receive or ack shows as a redelivery. Nothing
// accepted is lost, and the hot path waits for one disk flush (ingest's) instead of three.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { stormProof, type Logger } from '../logger.ts';
import { countHandOuts, withDeadConnectionRetry } from './dead-connection-retry.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;

export interface PoolOptions {
  url: string;
  max: number;
  statementTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  applicationName: string;
  /** false: commits return before their WAL reaches the disk (see above). */
  synchronousCommit?: boolean;
  /** More session settings, set once per connection instead of once per transaction. */
  settings?: Record<string, string>;
  /** Opens each connection's socket: set when DATABASE_URL names several hosts (db/primary-picker.ts). */
  stream?: () => Socket;
}

export function createPool(options: PoolOptions, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    application_name: options.applicationName,
    options: Object.entries({
      statement_timeout: String(options.statementTimeoutMs),
      idle_in_transaction_session_timeout: String(options.idleInTransactionTimeoutMs),
      ...(options.synchronousCommit === false ? { synchronous_commit: 'off' } : {}),
      ...options.settings,
    }).map(([name, value]) => `-c ${name}=${value}`).join(' '),
    connectionTimeoutMillis: 10_000,
    ...(options.stream ? { stream: options.stream } : {}),
  });
  // A connection that dies (server restart, pg_terminate_backend) must not crash the process: the
  // query in flight fails with the error, and the pool replaces the connection on demand. One line
  // per lost idle connection (the pool reports those), and few during an outage that drops them all;
  // a busy connection's loss is reported by the query that fails on it.
  const lostLog = stormProof(log);
  pool.on('error', (error) => lostLog.warn('idle database connection lost', { error: error.message }));
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    prepareMarkedStatements(client);
  });
  countHandOuts(pool);
  return pool;
}

/**
 * Start a hot statement with this and it runs as a named prepared statement: planned once per
 * connection instead of on every call. The hot statements are CTEs over partitioned tables whose
 * planning took longer than their execution (measured: reading a stage batch 1.8 ms planning to
 * 3.1 ms executing, a receive 1.5 ms to 0.45 ms). Kysely has no prepared statements of its own.
 */
export const PREPARED = sql.raw('/* prepared */ ');
const PREPARED_MARK = '/* prepared */ ';

/** Gives statements that carry PREPARED a name derived from their text (variants differ in text). */
function prepareMarkedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const names = new Map<string, string>();
  (client as { query: unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    if (typeof text !== 'string' || !text.startsWith(PREPARED_MARK)) return query(text, values, callback);
    let name = names.get(text);
    if (name === undefined) {
      name = `sy_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      names.set(text, name);
    }
    return query({ name, text, values }, callback);
  };
}

export function createDb(pool: pg.Pool): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: withDeadConnectionRetry(pool) }) });
}
