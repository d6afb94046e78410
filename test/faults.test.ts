// Faults the service meets in production, on a real PostgreSQL: the database goes away and comes
// back, and idle connections are killed under it. Clients get refusals they can act on (503 with
// Retry-After, never a 500), nothing accepted is lost, and work resumes by itself.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { createLogger } from '../src/logger.ts';
import { startSwitchyard, type Switchyard } from '../src/main.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, publish, registerClient } from './helpers/factories.ts';
import { api } from './helpers/http.ts';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from './helpers/service.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describe('the database goes away and comes back', () => {
  test('meanwhile every call answers 503 DatabaseUnavailable with Retry-After; afterwards what was accepted is delivered', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'switchyard-outage-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const startDatabase = (port: number) => startEmbeddedPostgres({ dataDir, port, log: createLogger('silent'), settings: { fsync: 'off' } });
    let database: EmbeddedPostgres = await startDatabase(0);
    cleanups.push(() => database.stop());
    const port = Number(new URL(database.url).port);
    const config = loadConfig({
      DATABASE_URL: database.url, PORT: '0', SWITCHYARD_ADMIN_TOKEN: TEST_ADMIN_TOKEN, SWITCHYARD_ROLES: 'router,routing,persistence,analytics,push',
      SWITCHYARD_STAGE_POLL_MS: '200', SWITCHYARD_INBOX_POLL_MS: '200', SWITCHYARD_SHUTDOWN_TIMEOUT_MS: '3000', LOG_LEVEL: 'silent',
    });
    const service: Switchyard = await startSwitchyard(config, { log: createLogger('silent'), migrate: true });
    cleanups.push(() => service.stop());
    const admin = api(service.url, TEST_ADMIN_TOKEN);
    const ann = await registerClient(admin, 'ann');
    const bo = await registerClient(admin, 'bo');
    const before = await publish(ann, { to: 'user:bo', payload: 'before' });

    await database.stop();
    const refusals = [
      await ann.api.post('/v1/messages', { to: 'user:bo', payload: 'during' }),
      await bo.api.get('/v1/inbox?wait=0'),
      await bo.api.post('/v1/inbox/ack', { receipts: [`${before}.1`] }),
      await admin.get('/readyz'),
    ];
    for (const reply of refusals) {
      expect(reply.status, JSON.stringify(reply.body)).toBe(503);
      expect(reply.body.code).toBe('DatabaseUnavailable');
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
    }

    database = await startDatabase(port);
    expect(Number(new URL(database.url).port)).toBe(port);
    const after = await eventually(async () => {
      const reply = await ann.api.post('/v1/messages', { to: 'user:bo', payload: 'after' });
      return reply.status === 202 ? (reply.body.id as string) : undefined;
    }, 20_000, 'a publish to be accepted again');
    const received = new Set<string>();
    await eventually(async () => {
      const reply = await bo.api.get('/v1/inbox?wait=1&max=10');
      for (const message of reply.body.messages ?? []) received.add(message.id);
      return received.has(before) && received.has(after) ? true : undefined;
    }, 20_000, 'the messages from before and after the outage');
    expect((await admin.get('/readyz')).status).toBe(200);
  });
});

describe('idle connections killed under the service', () => {
  let database: TestDatabase;
  let service: TestService;

  test('a storm of pg_terminate_backend on idle connections fails no publish', async () => {
    database = await createTestDatabase();
    cleanups.push(() => database.drop());
    service = await startTestService(database.url, { SWITCHYARD_RATE_LIMIT_PER_SECOND: '0' }); // 240 publishes from one client
    cleanups.push(() => service.stop());
    const ann = await registerClient(service.admin, 'ann');
    await registerClient(service.admin, 'bo');
    const burst = () => Promise.all(Array.from({ length: 40 }, (_, n) => ann.api.post('/v1/messages', { to: 'user:bo', payload: n })));
    await burst(); // opens connections in the pools
    for (let round = 0; round < 5; round++) {
      const killed = await sql<{ pid: number }>`
        select pid from pg_stat_activity
        where datname = current_database() and state = 'idle' and application_name like 'switchyard:%'
          and application_name <> 'switchyard:test' and application_name not like 'switchyard:listen:%' and pg_terminate_backend(pid)`.execute(database.db);
      expect(killed.rows.length).toBeGreaterThan(0);
      const statuses = (await burst()).map((reply) => reply.status);
      expect(statuses.filter((status) => status !== 202)).toEqual([]);
    }
  });
});
