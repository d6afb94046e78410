// The door of the router under overload: past SWITCHYARD_INGEST_MAX_IN_FLIGHT publish requests at
// once, the next is refused at once with 503 Overloaded and Retry-After, before its token is even
// looked up; when the ones in flight finish, publishing works again. The flush is held up by a
// transaction that locks the log, so what is in flight is decided by the test.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, registerClient, type TestClient } from '../helpers/factories.ts';
import { expectProblem } from '../helpers/problems.ts';
import { withLogLocked } from '../helpers/log-lock.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let alice: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_RATE_LIMIT_PER_SECOND: '0', SWITCHYARD_INGEST_MAX_IN_FLIGHT: '3',
  }, { ingest: { concurrentFlushes: 1 } });
  alice = await registerClient(service.admin, 'alice', ['topic:gate']);
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

async function inFlight(): Promise<number> {
  const text = (await service.anonymous.get('/metrics')).body as string;
  return Number(/^switchyard_ingest_publishes_in_flight (\d+)$/m.exec(text)?.[1] ?? -1);
}

test('past the publishes in flight a router allows, the next is refused at once with 503 Overloaded, even with a bad token', async () => {
  let held: Promise<{ status: number }>[] = [];
  await withLogLocked(database.db, async () => {
    held = [1, 2, 3].map((n) => alice.api.post('/v1/messages', { to: 'topic:gate', payload: n }));
    await eventually(async () => ((await inFlight()) === 3 ? true : undefined), 5_000, 'three publishes in flight');
    const started = performance.now();
    const refused = await alice.api.post('/v1/messages', { to: 'topic:gate', payload: 4 });
    expectProblem(refused, 503, 'Overloaded');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(performance.now() - started).toBeLessThan(1_000); // answered, not queued behind the lock
    // Refused at the door: a made-up token is not even looked up.
    expectProblem(await alice.api.as('sy_made-up-token-that-would-be-401').post('/v1/messages/batch', { messages: [] }), 503, 'Overloaded');
  });
  expect((await Promise.all(held)).map((reply) => reply.status)).toEqual([202, 202, 202]);
  expect(await inFlight()).toBe(0);
  expect((await alice.api.post('/v1/messages', { to: 'topic:gate', payload: 5 })).status).toBe(202);
});

test('SWITCHYARD_INGEST_MAX_IN_FLIGHT takes 1 to 100,000 and names itself when out of range', () => {
  const base = { SWITCHYARD_ADMIN_TOKEN: 'a-real-secret-of-forty-two-characters-xyz9' };
  expect(loadConfig({ ...base, SWITCHYARD_INGEST_MAX_IN_FLIGHT: '1' }).ingest.maxInFlight).toBe(1);
  expect(loadConfig({ ...base, SWITCHYARD_INGEST_MAX_IN_FLIGHT: '100000' }).ingest.maxInFlight).toBe(100_000);
  for (const bad of ['0', '100001', 'many']) {
    expect(() => loadConfig({ ...base, SWITCHYARD_INGEST_MAX_IN_FLIGHT: bad })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, SWITCHYARD_INGEST_MAX_IN_FLIGHT: bad })).toThrow(/SWITCHYARD_INGEST_MAX_IN_FLIGHT/);
  }
  expect(loadConfig(base).ingest.maxInFlight).toBe(128);
});
