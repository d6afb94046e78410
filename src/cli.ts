#!/usr/bin/env node
// The switchyard command: serve, migrate, admin-token, clients.
import { parseArgs } from 'node:util';
import { rotateAdminToken } from './clients/admin-token.ts';
import { ClientIdParams } from './clients/clients.schemas.ts';
import { ClientsService } from './clients/clients.service.ts';
import { ConfigError, loadConfig, ROLES, type Config } from './config.ts';
import type { Db } from './db/database.ts';
import { startEmbeddedPostgres } from './db/embedded-postgres.ts';
import {
  createMigrationFiles, migrateDown, migrateToLatest, migrateUp, migrationStatus, withMigrationDb,
} from './db/migrate.ts';
import { GroupMembership } from './groups/membership.ts';
import { ApiError } from './http/problem.ts';
import { createLogger, type Logger } from './log.ts';
import { startSwitchyard } from './main.ts';
import { sendNotification } from './notifications/notify.repository.ts';
import { TopicPolicies } from './topics/topic-policies.ts';

const USAGE = `usage: switchyard <command>

  serve [--roles ${ROLES.join(',')}] [--no-migrate]
                          run the service (all roles unless --roles; env SWITCHYARD_ROLES)
  migrate latest|up|down|status
                          apply or revert schema migrations
  migrate create NAME     write a new pair of empty migration files
  admin-token rotate      replace the admin token and print the new one
  clients rotate ID       give client ID a new token and print it; the old one fails at once
  clients revoke ID       revoke client ID for good (token, subscriptions and queue)

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
    case 'clients':
      return clientsCommand(config, log, sub, name);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** clients rotate|revoke ID: the admin API's token lifecycle, straight on the database. */
async function clientsCommand(config: Config, log: Logger, sub: string | undefined, id: string | undefined): Promise<number> {
  if ((sub !== 'rotate' && sub !== 'revoke') || !id) throw new UsageError('usage: switchyard clients rotate|revoke ID');
  if (!ClientIdParams.safeParse({ id }).success) throw new UsageError(`"${id}" is not a client id`);
  return withDatabase(config, log, async (db) => {
    // Caches with a lifetime of 0: the CLI asks the database every time.
    const clients = new ClientsService(db, new GroupMembership(db, 0), new TopicPolicies(db, 0), () => undefined);
    if (sub === 'rotate') {
      const rotated = await clients.rotate(id);
      process.stdout.write(`new token for client ${rotated.id} (${rotated.name}), shown once: ${rotated.token}\n`);
    } else {
      const revoked = await clients.revoke(id);
      process.stdout.write(`client ${revoked.id} (${revoked.name}) revoked at ${revoked.revoked_at}\n`);
    }
    // Running services drop their cached copy of the token and close its streams.
    await sendNotification(db, 'config', [`client:${id}`], 'cli');
  });
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
    if (error instanceof ApiError) {
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
