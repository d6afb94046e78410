// A stopped service leaves nothing behind: every pool, the listener and the stage connections are
// closed by stop() itself (one teardown for a failed start and a stop), so a Ctrl-C prints no
// "connection lost" warnings when the database goes down after it.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startSwitchyard } from '../src/main.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, publish, registerClient } from './helpers/factories.ts';
import { api } from './helpers/http.ts';
import { TEST_ADMIN_TOKEN } from './helpers/service.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

test('a stopped service has closed every connection it opened and logged nothing at warning level', async () => {
  const lines: { level: string; msg: string }[] = [];
  const log = createLogger('warn', {}, (line) => lines.push(JSON.parse(line) as { level: string; msg: string }) > 0);
  const config = loadConfig({
    DATABASE_URL: database.url, PORT: '0', SWITCHYARD_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SWITCHYARD_STAGE_POLL_MS: '200', SWITCHYARD_INBOX_POLL_MS: '200', SWITCHYARD_SHUTDOWN_TIMEOUT_MS: '5000',
  });
  const service = await startSwitchyard(config, { log, migrate: false });
  const serviceConnections = () => sql<{ application_name: string }>`
    select application_name from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and application_name <> 'switchyard:test'
      and backend_type = 'client backend'`.execute(database.db).then((r) => r.rows.map((row) => row.application_name));

  // Every role at work, so that each pool (stages, receivers, router) has opened connections.
  const admin = api(service.url, TEST_ADMIN_TOKEN);
  const ann = await registerClient(admin, 'ann', ['topic:t']);
  await publish(ann, { to: 'topic:t', payload: 1 });
  await eventually(async () => ((await ann.api.get('/v1/inbox?wait=1')).body.messages.length > 0 ? true : undefined));
  expect(await serviceConnections()).toContain('switchyard:stages');

  await service.stop();
  // A backend leaves pg_stat_activity a moment after its client has said goodbye.
  await eventually(async () => ((await serviceConnections()).length === 0 ? true : undefined), 5_000, 'no connections')
    .catch(async () => expect(await serviceConnections()).toEqual([]));
  expect(lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
});
