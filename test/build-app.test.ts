// buildSwitchyard builds and starts every part but the HTTP server: its app answers app.request()
// without a socket, against a real database, and stop() unwinds it like a served one.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { buildSwitchyard } from '../src/main.ts';
import { runningWorkers } from '../src/queue/worker.ts';
import { createTestDatabase, expectNoServiceConnections, type TestDatabase } from './helpers/database.ts';
import { publish, registerClient } from './helpers/factories.ts';
import { api } from './helpers/http.ts';
import { TEST_ADMIN_TOKEN } from './helpers/service.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

test('a message published through app.request() reaches a long poll through app.request(), and /readyz answers ready', async () => {
  const config = loadConfig({
    DATABASE_URL: database.url, SWITCHYARD_ADMIN_TOKEN: TEST_ADMIN_TOKEN, SWITCHYARD_ROLES: 'router,routing,persistence,push',
    SWITCHYARD_STAGE_POLL_MS: '200', SWITCHYARD_INBOX_POLL_MS: '200', LOG_LEVEL: 'error',
  });
  const service = await buildSwitchyard(config, { log: createLogger('error'), migrate: false });
  try {
    const admin = api('http://switchyard.test', TEST_ADMIN_TOKEN, (url, init) => service.app.request(url, init));
    const ready = await admin.as(undefined).get('/readyz');
    expect(ready.status).toBe(200);

    const ann = await registerClient(admin, 'ann', ['topic:news']);
    const id = await publish(ann, { to: 'topic:news', payload: { headline: 'no socket' } });
    const inbox = await ann.api.get('/v1/inbox?wait=5');
    expect(inbox.status).toBe(200);
    expect(inbox.body.messages.map((m: { id: string; payload: unknown }) => [m.id, m.payload])).toEqual([[id, { headline: 'no socket' }]]);
  } finally {
    await service.stop();
  }
  expect(runningWorkers()).toEqual([]);
  await expectNoServiceConnections(database);
});
