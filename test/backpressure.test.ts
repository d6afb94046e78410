// Backpressure: with the routing stage stalled on purpose, publishing turns to 429 with
// Retry-After once the stage is further behind than its high-water mark, writes nothing while
// refused, and recovers by itself when the stage catches up.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, registerClient, type TestClient } from './helpers/factories.ts';
import { route } from './helpers/queue.ts';
import { startTestService, type TestService } from './helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let alice: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_ROLES: 'router,push', // no routing anywhere: it is stalled
    SWITCHYARD_BACKPRESSURE_LAG_SECONDS: '1',
    SWITCHYARD_BACKPRESSURE_STAGES: 'routing',
  }, { delivery: { statsMs: 100 } });
  alice = await registerClient(service.admin, 'alice');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

const messages = async () => (await sql<{ n: number }>`select count(*)::int as n from switchyard.message`.execute(database.db)).rows[0]!.n;

test('a stalled stage engages backpressure past its high-water mark, and catching up releases it', async () => {
  expect((await alice.api.post('/v1/messages', { to: 'topic:news', payload: 'first' })).status).toBe(202);
  const refused = await eventually(async () => {
    const before = await messages();
    const reply = await alice.api.post('/v1/messages', { to: 'topic:news', payload: 'keeps coming' });
    if (reply.status !== 429) return undefined;
    expect(await messages()).toBe(before); // refused: nothing written
    return reply;
  }, 10_000, 'backpressure');
  expect(refused.body).toMatchObject({ code: 'Backpressure', status: 429 });
  expect(refused.body.detail).toMatch(/routing stage is \d+ s behind/);
  expect(refused.headers.get('retry-after')).toBe('5');
  const lag = await sql<{ stage: string; lag_seconds: number; rows_behind: string }>`
    select stage, lag_seconds, rows_behind from switchyard.stage_lag(1000) where stage = 'routing'`.execute(database.db);
  expect(lag.rows[0]!.lag_seconds).toBeGreaterThan(1);
  expect(Number(lag.rows[0]!.rows_behind)).toBeGreaterThan(0);

  await route(database.db); // the stage comes back and drains its backlog
  await eventually(async () => {
    const reply = await alice.api.post('/v1/messages', { to: 'topic:news', payload: 'accepted again' });
    return reply.status === 202 ? true : undefined;
  }, 10_000, 'backpressure to lift');
});
