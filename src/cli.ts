#!/usr/bin/env node
// The switchyard command: serve, migrate, admin-token, config, and the admin helpers clients, dlq
// and stats (src/cli/), which work on the database directly.
import { parseArgs } from 'node:util';
import { adminConnection, withDatabase } from './cli/cli-database.ts';
import { clientsCommand } from './cli/clients.command.ts';
import { configCommand } from './cli/config.command.ts';
import { retiredSettingsIn } from './config/retired-settings.ts';
import { dlqCommand } from './cli/dlq.command.ts';
import { psqlCommand } from './cli/psql.command.ts';
import { stageDlqCommand } from './cli/stage-dlq.command.ts';
import { statsCommand } from './cli/stats.command.ts';
import { UsageError } from './cli/usage-error.ts';
import { rotateAdminToken } from './auth/admin-token.ts';
import { announceGeneratedAdminToken } from './auth/admin-token-notice.ts';
import { ConfigError, loadConfig, ROLES, type Config } from './config.ts';
import type { Db } from './db/database.ts';
import { EmbeddedPostgresAccessError } from './db/embedded-postgres-root.ts';
import {
  createMigrationFiles, migrateDown, migrateToLatest, migrateUp, migrationStatus, withMigrationDb,
} from './db/migrate.ts';
import { ApiError } from './http/problem.ts';
import { createLogger, type Logger } from './logger.ts';
import { startSwitchyard } from './main.ts';

const USAGE = `usage: switchyard <command>

  serve [--roles ${ROLES.join(',')}] [--no-migrate]
                          run the service (all roles unless --roles; env SWITCHYARD_ROLES)
  migrate latest|up|down|status
                          apply or revert schema migrations
  migrate create NAME     write a new pair of empty migration files
  admin-token rotate      replace the admin token and print the new one
  config                  the effective configuration: each variable, its value (secrets
                          masked) and whether it came from the environment or the default
  clients create NAME [--listen-to ADDR,...]
                          register a client and print its token (shown once)
  clients list [--limit N] [--after ID] [--revoked]
                          clients in id order, with what they listen to
  clients rotate ID       give client ID a new token and print it; the old one fails at once
  clients revoke ID       revoke client ID for good (token, subscriptions and queue)
  dlq list [--client ID] [--error TEXT] [--since ISO] [--until ISO] [--limit N]
                          dead letters, newest first
  dlq redrive|purge [--client ID] [--error TEXT] [--since ISO] [--until ISO] [--batch-size N] [--all]
                          put dead letters back in their queues, or delete them, in bounded
                          batches with a progress bar; purge without a filter needs --all
  stage-dlq list STAGE [--limit N]
                          messages a stage (routing, persistence, analytics) gave up on, newest first
  stage-dlq redrive STAGE [--messages ID,...]
                          give them back to the stage, to run again now
  stats [--once] [--interval SECONDS] [--top N]
                          a live view of queues and stages, redrawn until Ctrl-C
  psql [--command SQL]    a psql session on the service's database (the embedded one too)

Configuration comes from the environment; see README.md. Without DATABASE_URL an embedded
PostgreSQL keeps its data in SWITCHYARD_DATA_DIR (default ./.switchyard).`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseCommandLine(argv);
  const [command, sub, name] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const env = { ...process.env, ...(values.roles ? { SWITCHYARD_ROLES: values.roles } : {}) };
  const config = loadConfig(env);
  const log = createLogger(config.logLevel, { service: 'switchyard' });
  // Admin helpers print their answers on stdout: their own logs go to stderr, warnings and worse only.
  const quiet = createLogger(config.logLevel === 'debug' ? 'debug' : 'warn', { service: 'switchyard' }, (line) => process.stderr.write(line));
  const admin = (fn: (db: Db) => Promise<void>) => withDatabase(config, quiet, adminConnection(config), fn);

  switch (command) {
    case 'serve':
      for (const variable of retiredSettingsIn(env)) log.warn('variable no longer read: its value is a constant now (switchyard config)', { variable });
      return serve(config, log, !values['no-migrate']);
    case 'migrate':
      if (sub === 'create') {
        if (!name) throw new UsageError('migrate create needs a NAME');
        for (const file of await createMigrationFiles(name)) process.stdout.write(`created ${file}\n`);
        return 0;
      }
      return withDatabase(config, log, withMigrationDb, async (db) => {
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
      return withDatabase(config, log, withMigrationDb, async (db) => {
        process.stdout.write(`new admin token (shown once): ${await rotateAdminToken(db)}\nrestart running services to use it\n`);
      });
    case 'config':
      if (sub) throw new UsageError(`unknown config argument "${sub}"`);
      configCommand(env, process.stdout);
      return 0;
    case 'clients':
      return admin(clientsCommand({
        sub, arg: name, listenTo: values['listen-to'], limit: values.limit, after: values.after, revoked: values.revoked,
      }, process.stdout));
    case 'dlq':
      return admin(dlqCommand({
        sub, client: values.client, error: values.error, since: values.since, until: values.until, limit: values.limit,
        batchSize: values['batch-size'], all: values.all,
      }, process.stdout));
    case 'stage-dlq':
      return admin(stageDlqCommand({ sub, stage: name, limit: values.limit, messages: values.messages }, process.stdout));
    case 'psql':
      if (sub) throw new UsageError(`unknown psql argument "${sub}" (SQL goes in --command)`);
      return psqlCommand({ command: values.command }, config, process.stderr);
    case 'stats':
      if (sub) throw new UsageError(`unknown stats argument "${sub}"`);
      return admin(statsCommand({ once: values.once, interval: values.interval, top: values.top }, config, process.stdout));
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function serve(config: Config, log: Logger, migrate: boolean): Promise<number> {
  const service = await startSwitchyard(config, { log, migrate });
  process.stderr.write(`\nSwitchyard is listening on ${service.url}\n`);
  if (service.generatedAdminToken) {
    announceGeneratedAdminToken(service.generatedAdminToken, config.dataDir, process.stdout);
  } else if (!config.adminToken) {
    process.stderr.write('Admin token: the one printed on the first start (`npx switchyard admin-token rotate` makes a new one)\n\n');
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

function print(lines: string[], nothing: string): void {
  process.stdout.write(`${(lines.length > 0 ? lines : [nothing]).join('\n')}\n`);
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        roles: { type: 'string' },
        'no-migrate': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        'listen-to': { type: 'string' },
        limit: { type: 'string' },
        after: { type: 'string' },
        revoked: { type: 'boolean', default: false },
        client: { type: 'string' },
        error: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        'batch-size': { type: 'string' },
        all: { type: 'boolean', default: false },
        once: { type: 'boolean', default: false },
        interval: { type: 'string' },
        top: { type: 'string' },
        command: { type: 'string' },
        messages: { type: 'string' },
      },
    });
  } catch (error) {
    // An unknown or malformed option is a usage error, not a crash with a stack trace.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ApiError || error instanceof EmbeddedPostgresAccessError) {
      process.stderr.write(`switchyard: ${error.message}\n`);
      process.exit(1);
    }
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`switchyard: ${error.message}\n`);
      if (error instanceof UsageError) process.stderr.write(`\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`switchyard: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
