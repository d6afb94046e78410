#!/usr/bin/env node
// The switchyard command: serve, migrate, admin-token.
import { parseArgs } from 'node:util';
import { rotateAdminToken } from './clients/admin-token.ts';
import { ConfigError, loadConfig, ROLES, type Config } from './config.ts';
import type { Db } from './db/database.ts';
import { startEmbeddedPostgres } from './db/embedded-postgres.ts';
import {
  createMigrationFiles, migrateDown, migrateToLatest, migrateUp, migrationStatus, withMigrationDb,
} from './db/migrate.ts';
import { createLogger, type Logger } from './log.ts';
import { startSwitchyard } from './main.ts';

const USAGE = `usage: switchyard <command>

  serve [--roles ${ROLES.join(',')}] [--no-migrate]
                          run the service (all roles unless --roles; env SWITCHYARD_ROLES)
  migrate latest|up|down|status
                          apply or revert schema migrations
  migrate create NAME     write a new pair of empty migration files
  admin-token rotate      replace the admin token and print the new one

Configuration comes from the environment; see README.md. Without DATABASE_URL an embedded
PostgreSQL keeps its data in SWITCHYARD_DATA_DIR (default ./.switchyard).`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      roles: { type: 'string' },
      'no-migrate': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, sub, name] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const env = { ...process.env, ...(values.roles ? { SWITCHYARD_ROLES: values.roles } : {}) };
  const config = loadConfig(env);
  const log = createLogger(config.logLevel, { service: 'switchyard' });

  switch (command) {
    case 'serve':
      return serve(config, log, !values['no-migrate']);
    case 'migrate':
      if (sub === 'create') {
        if (!name) throw new UsageError('migrate create needs a NAME');
        for (const file of await createMigrationFiles(name)) process.stdout.write(`created ${file}\n`);
        return 0;
      }
      return withDatabase(config, log, async (db) => {
        switch (sub) {
          case 'latest': return print(await migrateToLatest(db), 'nothing to apply');
          case 'up': return print(await migrateUp(db), 'nothing to apply');
          case 'down': return print(await migrateDown(db), 'nothing to revert');
          case 'status':
            for (const m of await migrationStatus(db)) {
              process.stdout.write(`${m.appliedAt ? `applied ${m.appliedAt.toISOString()}` : 'pending                         '}  ${m.name}\n`);
            }
            return;
          default: throw new UsageError(`unknown migrate command "${sub ?? ''}"`);
        }
      });
    case 'admin-token':
      if (sub !== 'rotate') throw new UsageError('usage: switchyard admin-token rotate');
      if (config.adminToken) throw new UsageError('SWITCHYARD_ADMIN_TOKEN is set: change it there instead');
      return withDatabase(config, log, async (db) => {
        process.stdout.write(`new admin token (shown once): ${await rotateAdminToken(db)}\nrestart running services to use it\n`);
      });
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function serve(config: Config, log: Logger, migrate: boolean): Promise<number> {
  const service = await startSwitchyard(config, { log, migrate });
  process.stderr.write(`\nSwitchyard is listening on ${service.url}\n`);
  if (service.generatedAdminToken) {
    process.stderr.write(`Admin token (shown only this once; \`switchyard admin-token rotate\` makes a new one):\n  ${service.generatedAdminToken}\n\n`);
  } else if (!config.adminToken) {
    process.stderr.write('Admin token: the one printed on the first start (`switchyard admin-token rotate` makes a new one)\n\n');
  }
  return new Promise((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        log.warn('second signal, exiting at once', { signal });
        process.exit(1);
      }
      signalled = true;
      log.info('signal received, stopping', { signal });
      service.stop().then(() => resolve(0), (error: unknown) => {
        log.error('shutdown failed', { error });
        resolve(1);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** Runs fn against the configured database, starting the embedded one if there is no DATABASE_URL. */
async function withDatabase(config: Config, log: Logger, fn: (db: Db) => Promise<void>): Promise<number> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, log: createLogger('warn') });
  try {
    await withMigrationDb(config.databaseUrl ?? embedded!.url, log, fn);
    return 0;
  } finally {
    await embedded?.stop();
  }
}

function print(lines: string[], nothing: string): void {
  process.stdout.write(`${(lines.length > 0 ? lines : [nothing]).join('\n')}\n`);
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`switchyard: ${error.message}\n`);
      if (error instanceof UsageError) process.stderr.write(`\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`switchyard: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
