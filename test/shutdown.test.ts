// A stopped service leaves nothing behind: every pool, the listener and the stage connections are
// closed by stop() itself, so a Ctrl-C prints no "connection lost" warnings when the database goes
// down after it. A start that fails half way unwinds the same undo stack (src/teardown.ts).
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startSwitchyard } from '../src/main.ts';
import { runningWorkers } from '../src/queue/worker.ts';
import { createTestDatabase, expectNoServiceConnections, serviceConnections, type TestDatabase } from './helpers/database.ts';
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

  // Every role at work, so that each pool (stages, receivers, router) has opened connections.
  const admin = api(service.url, TEST_ADMIN_TOKEN);
  const ann = await registerClient(admin, 'ann', ['topic:t']);
  await publish(ann, { to: 'topic:t', payload: 1 });
  await eventually(async () => ((await ann.api.get('/v1/inbox?wait=1')).body.messages.length > 0 ? true : undefined));
  expect(await serviceConnections(database)).toContain('switchyard:stages');

  await service.stop();
  await expectNoServiceConnections(database);
  expect(lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
});

test('a start that fails half way (its port is taken) stops every worker and closes every connection it had opened', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const lines: { level: string; msg: string }[] = [];
  const log = createLogger('warn', {}, (line) => lines.push(JSON.parse(line) as { level: string; msg: string }) > 0);
  const config = loadConfig({
    DATABASE_URL: database.url, PORT: String((taken.address() as AddressInfo).port), HOST: '127.0.0.1',
    SWITCHYARD_ADMIN_TOKEN: TEST_ADMIN_TOKEN, SWITCHYARD_STAGE_POLL_MS: '200', SWITCHYARD_INBOX_POLL_MS: '200',
  });
  expect(config.roles).toContain('upkeep'); // every role: the scheduler and every pool are open when listen() fails
  try {
    await expect(startSwitchyard(config, { log, migrate: false })).rejects.toThrow(/EADDRINUSE/);
  } finally {
    taken.close();
  }
  expect(runningWorkers()).toEqual([]);
  await expectNoServiceConnections(database);
  expect(lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
});
