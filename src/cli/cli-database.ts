// The database the CLI works on: DATABASE_URL; or the embedded cluster that a running service
// keeps in the data folder; or, when none runs, the embedded cluster started for this command.
import type { Config } from '../config.ts';
import { createDb, createPool, type Db } from '../db/database.ts';
import { connectDatabase } from '../db/primary-picker.ts';
import { findRunningEmbeddedPostgres, startEmbeddedPostgres } from '../db/embedded-postgres.ts';
import { createLogger, type Logger } from '../logger.ts';

/** How a command connects once the URL is known (migrate: one connection without a statement timeout). */
export type Connect = <T>(url: string, log: Logger, fn: (db: Db) => Promise<T>) => Promise<T>;

/** Admin commands: a few connections with the service's statement timeout. */
export function adminConnection(config: Config): Connect {
  return async (url, log, fn) => {
    const db = createDb(createPool({
      url, max: 4, statementTimeoutMs: config.db.statementTimeoutMs, idleInTransactionTimeoutMs: config.db.idleInTransactionTimeoutMs,
      applicationName: 'switchyard:cli',
    }, log));
    try {
      return await fn(db);
    } finally {
      await db.destroy();
    }
  };
}

export async function withDatabase(config: Config, log: Logger, connect: Connect, fn: (db: Db) => Promise<void>): Promise<number> {
  return withDatabaseUrl(config, async (url) => {
    await connect(url, log, fn);
    return 0;
  });
}

/** Runs `fn` with the URL of the database to work on, starting the embedded one for it if none runs. */
export async function withDatabaseUrl<T>(config: Config, fn: (url: string) => Promise<T>): Promise<T> {
  const running = config.databaseUrl ? undefined : await findRunningEmbeddedPostgres(config.dataDir);
  const embedded = config.databaseUrl || running
    ? undefined
    : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, log: createLogger('warn') });
  try {
    // Several hosts in DATABASE_URL: the command works on the writable one.
    const external = config.databaseUrl ? (await connectDatabase(config.databaseUrl, createLogger('warn'))).url : undefined;
    return await fn(external ?? running ?? embedded!.url);
  } finally {
    await embedded?.stop();
  }
}
