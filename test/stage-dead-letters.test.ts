// Stage dead letters: a message the routing stage gave up on after its retries is listed by the
// admin API, redriven, and then routed by the stage like any other message.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { STAGE_DEAD_LETTERS_LIST_MAX } from '../src/ops/stage-dead-letters.schemas.ts';
import { StageRunner, type Stage } from '../src/queue/stage-runner.ts';
import { createRoutingStage } from '../src/routing/routing.stage.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { publish, registerClient, type TestClient } from './helpers/factories.ts';
import { expectProblem } from './helpers/problems.ts';
import { AGING_MS } from './helpers/queue.ts';
import { startTestService, type TestService } from './helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let reader: TestClient;
let writer: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  // No routing role in the service: the test runs the stage itself, broken and then mended.
  service = await startTestService(database.url, { SWITCHYARD_ROLES: 'router,push' });
  reader = await registerClient(service.admin, 'reader', ['topic:fragile']);
  writer = await registerClient(service.admin, 'writer');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

/** A fresh runner of the routing stage (a fresh one looks for due retries at once), broken or not. */
function routingRunner(broken: boolean): StageRunner {
  const routing = createRoutingStage({ priorityAgingMs: AGING_MS, onDelivered: () => undefined });
  const stage: Stage = {
    name: routing.name,
    handle: (tx, entries, afterCommit) => (broken ? Promise.reject(new Error('routing is broken')) : routing.handle(tx, entries, afterCommit)),
  };
  return new StageRunner({ db: database.db, stage, log: createLogger('silent'), batchSize: 100, lanesPerClaim: 16, retryLimit: 2 });
}

test('a message the routing stage gave up on is listed, redriven, and then routed by the stage', async () => {
  const id = await publish(writer, { to: 'topic:fragile', payload: { n: 1 } });
  await routingRunner(true).runOnce(); // fails: one retry scheduled
  await sql`update switchyard.stage_retry set next_attempt_at = now() where message_id = ${id}`.execute(database.db);
  await routingRunner(true).runOnce(); // fails again: out of attempts, dead-lettered

  const listed = await service.admin.get('/v1/admin/stages/routing/dead-letters');
  expect(listed.status).toBe(200);
  expect(listed.body.dead_letters).toEqual([{
    stage: 'routing', message_id: id, attempts: 2, first_failed_at: expect.any(String), failed_at: expect.any(String),
    last_error: expect.stringContaining('routing is broken'),
  }]);
  expect((await service.admin.get('/v1/admin/stages/persistence/dead-letters')).body.dead_letters).toEqual([]);
  expect((await reader.api.get('/v1/inbox?wait=0')).body.messages).toEqual([]);

  // Naming another message redrives nothing; naming none redrives the stage's.
  const other = '00000000-0000-7000-8000-000000000000';
  expect((await service.admin.post('/v1/admin/stages/routing/dead-letters/redrive', { message_ids: [other] })).body).toEqual({ redriven: 0 });
  expect((await service.admin.post('/v1/admin/stages/routing/dead-letters/redrive', {})).body).toEqual({ redriven: 1 });
  expect((await service.admin.get('/v1/admin/stages/routing/dead-letters')).body.dead_letters).toEqual([]);

  await routingRunner(false).runOnce(); // the mended stage runs the redriven message
  const received = await reader.api.get('/v1/inbox?wait=0');
  expect(received.body.messages.map((m: { id: string }) => m.id)).toEqual([id]);
  const left = await sql<{ n: number }>`
    select (select count(*) from switchyard.stage_retry)::int + (select count(*) from switchyard.stage_dead_letter)::int as n`.execute(database.db);
  expect(left.rows[0]!.n).toBe(0);
});

test('an unknown stage, a limit past its maximum and a malformed message id are refused', async () => {
  expectProblem(await service.admin.get('/v1/admin/stages/nowhere/dead-letters'), 400, 'ValidationFailed', 'stage');
  expect((await service.admin.get(`/v1/admin/stages/routing/dead-letters?limit=${STAGE_DEAD_LETTERS_LIST_MAX}`)).status).toBe(200);
  expectProblem(await service.admin.get(`/v1/admin/stages/routing/dead-letters?limit=${STAGE_DEAD_LETTERS_LIST_MAX + 1}`), 400, 'ValidationFailed', 'limit');
  expectProblem(await service.admin.post('/v1/admin/stages/routing/dead-letters/redrive', { message_ids: ['not-an-id'] }), 400, 'ValidationFailed', 'message_ids.0');
  expectProblem(await service.admin.post('/v1/admin/stages/nowhere/dead-letters/redrive', {}), 400, 'ValidationFailed', 'stage');
});
