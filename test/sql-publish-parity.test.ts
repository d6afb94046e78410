// SQL switchyard.publish() follows the rules of HTTP publish: the configured dedup window, the same
// delay limit (365 days), and the same refusal of a direct message to a full queue (SQLSTATE
// SY429, where HTTP answers 429 QueueFull). Each rule is checked on both faces side by side.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DELAY_MAX_SECONDS } from '../src/messages/messages.schemas.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from './helpers/factories.ts';
import { startTestService, type TestService } from './helpers/service.ts';

const DEDUP_WINDOW_SECONDS = 7_200; // not the 300 s default, so the test can tell them apart

let database: TestDatabase;
let service: TestService;
let alice: TestClient;
let app: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_ROLES: 'router,routing,push,upkeep',
    SWITCHYARD_DEDUP_WINDOW_SECONDS: String(DEDUP_WINDOW_SECONDS),
  }, { delivery: { statsMs: 100 } });
  alice = await registerClient(service.admin, 'alice');
  app = new pg.Client({ connectionString: database.url });
  await app.connect();
});

afterAll(async () => {
  await app?.end();
  await service?.stop();
  await database?.drop();
});

/** Seconds from now until the dedup entry of (scope, dedup_id) expires. */
async function dedupSecondsLeft(scope: string, dedupId: string): Promise<number> {
  const result = await sql<{ left: number }>`
    select extract(epoch from expires_at - now())::float8 as left from switchyard.dedup where scope = ${scope} and dedup_id = ${dedupId}`
    .execute(service.db);
  return result.rows[0]!.left;
}

/** The SQLSTATE of a failed query, or 'ok'. */
async function sqlState(query: string, values: unknown[] = []): Promise<string> {
  try {
    await app.query(query, values);
    return 'ok';
  } catch (error) {
    return (error as { code: string }).code;
  }
}

test('SQL publish keeps a dedup_id for the configured window, as HTTP publish does', async () => {
  const first = await app.query(`select switchyard.publish('user:alice', '1'::jsonb, sender => 'system:shop', dedup_id => 'order-9') as id`);
  const again = await app.query(`select switchyard.publish('user:alice', '2'::jsonb, sender => 'system:shop', dedup_id => 'order-9') as id`);
  expect(again.rows[0].id).toBe(first.rows[0].id);
  await publish(alice, { to: 'user:alice', payload: 3, dedup_id: 'order-9' });
  for (const scope of ['system:shop', 'user:alice']) {
    const left = await dedupSecondsLeft(scope, 'order-9');
    expect(left).toBeGreaterThan(DEDUP_WINDOW_SECONDS - 30);
    expect(left).toBeLessThanOrEqual(DEDUP_WINDOW_SECONDS);
  }
});

test('SQL publish takes delays up to 365 days and refuses longer ones, as HTTP publish does', async () => {
  const max = DELAY_MAX_SECONDS;
  expect(await sqlState(`select switchyard.publish('user:alice', '1'::jsonb, delay_seconds => $1)`, [max])).toBe('ok');
  expect(await sqlState(`select switchyard.publish('user:alice', '1'::jsonb, delay_seconds => $1)`, [max + 1])).toBe('22023');
  expect(await sqlState(`select switchyard.publish('user:alice', '1'::jsonb, delay_seconds => -1)`)).toBe('22023');
  expect(await sqlState(`select switchyard.publish('user:alice', '1'::jsonb, deliver_at => now() + make_interval(secs => $1))`, [max + 60])).toBe('22023');
  expect((await alice.api.post('/v1/messages', { to: 'user:alice', payload: 1, delay_seconds: max })).status).toBe(202);
  expect((await alice.api.post('/v1/messages', { to: 'user:alice', payload: 1, delay_seconds: max + 1 })).status).toBe(400);
  expect((await alice.api.post('/v1/messages', { to: 'user:alice', payload: 1, delay_seconds: -1 })).status).toBe(400);
});

test('a direct message to a full queue is refused in SQL with SQLSTATE SY429 as over HTTP with 429 QueueFull; a topic copy is dead-lettered', async () => {
  const carol = await registerClient(service.admin, 'carol', ['topic:alerts']);
  await service.admin.put(`/v1/admin/clients/${carol.id}/queue-policy`, { max_length: 1, overflow: 'reject' });
  await publish(alice, { to: 'user:carol', payload: 'fills it' });
  await eventually(async () => {
    const reply = await alice.api.post('/v1/messages', { to: 'user:carol', payload: 'probe', dedup_id: 'probe' });
    return reply.status === 429 && reply.body.code === 'QueueFull' ? true : undefined;
  }, 10_000, 'a 429 QueueFull');
  let refusal: { code: string; message: string } | undefined;
  await app.query(`select switchyard.publish('user:carol', '1'::jsonb)`).catch((error: { code: string; message: string }) => {
    refusal = error;
  });
  expect(refusal?.code).toBe('SY429');
  expect(refusal?.message).toMatch(/^QueueFull: /);

  const { rows } = await app.query(`select switchyard.publish('topic:alerts', '"fire"'::jsonb) as id`);
  const dead = await eventually(async () => {
    const reply = await carol.api.get('/v1/inbox/dead-letters');
    return reply.body.dead_letters.length > 0 ? reply.body.dead_letters : undefined;
  });
  expect(dead).toMatchObject([{ id: rows[0].id, reason: 'overflow' }]);
});

test('a payload of JSON null is published through SQL as over HTTP, and SQL null is refused', async () => {
  const reply = await alice.api.post('/v1/messages', { to: 'user:alice', payload: null });
  expect(reply.status).toBe(202);
  const { rows } = await app.query(`select switchyard.publish('user:alice', 'null'::jsonb) as id`);
  const stored = await sql<{ id: string; kind: string }>`
    select id, jsonb_typeof(payload) as kind from switchyard.message where id = any(${[reply.body.id, rows[0].id]}::uuid[])`.execute(service.db);
  expect(stored.rows.map((row) => row.kind)).toEqual(['null', 'null']);
  expect(await sqlState(`select switchyard.publish('user:alice', null::jsonb)`)).toBe('23502');
});
