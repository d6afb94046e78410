// The outbox's SQL face: switchyard.publish() inside the caller's own transaction commits or rolls
// back with the caller's business write.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { addressProblem } from '../src/addresses/address.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { registerClient, type TestClient } from './helpers/factories.ts';
import { startTestService, type TestService } from './helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let bob: TestClient;
let app: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
  bob = await registerClient(service.admin, 'bob', ['topic:orders']);
  app = new pg.Client({ connectionString: database.url });
  await app.connect();
  await app.query('create table public.orders (id serial primary key, item text not null)');
});

afterAll(async () => {
  await app?.end();
  await service?.stop();
  await database?.drop();
});

const count = async (table: string) => Number((await app.query(`select count(*) from ${table}`)).rows[0].count);

test('a business transaction that rolls back publishes nothing', async () => {
  await app.query('begin');
  await app.query(`insert into public.orders (item) values ('lamp')`);
  await app.query(`select switchyard.publish('topic:orders', '{"item": "lamp"}'::jsonb, sender => 'system:shop')`);
  await app.query('rollback');
  expect(await count('public.orders')).toBe(0);
  expect(await count('switchyard.message')).toBe(0);
  expect((await bob.api.get('/v1/inbox?wait=1')).body.messages).toEqual([]);
});

test('a business transaction that commits is delivered, with the fields it was published with', async () => {
  await app.query('begin');
  await app.query(`insert into public.orders (item) values ('desk')`);
  const { rows } = await app.query(
    `select switchyard.publish('topic:orders', '{"item": "desk"}'::jsonb, sender => 'system:shop', type => 'order.created',
                               headers => '{"source": "shop"}'::jsonb, correlation_id => 'order-1') as id`,
  );
  await app.query('commit');
  const received = await bob.api.get('/v1/inbox?wait=5');
  expect(received.body.messages).toHaveLength(1);
  expect(received.body.messages[0]).toMatchObject({
    id: rows[0].id, from: 'system:shop', to: 'topic:orders', type: 'order.created',
    payload: { item: 'desk' }, headers: { source: 'shop' }, correlation_id: 'order-1',
  });
});

test('publishing to an invalid address raises an error and so rolls the caller back', async () => {
  await app.query('begin');
  await app.query(`insert into public.orders (item) values ('chair')`);
  await expect(app.query(`select switchyard.publish('queue:nope', '1'::jsonb)`)).rejects.toThrow(/invalid address/);
  await app.query('rollback');
  expect(await count(`public.orders where item = 'chair'`)).toBe(0);
});

test('the database accepts exactly the addresses the router accepts', async () => {
  const name = (length: number, extra = '') => `a${'b'.repeat(length - 1 - extra.length)}${extra}`;
  const candidates = [
    'user:bob', 'group:eng', 'topic:news', 'topic:a/b.c-d_e', 'user:a/b', 'group:x/y', 'user:', 'topic:', 'user:_bob',
    'topic:/news', 'user:bob smith', 'user:bob:x', 'users:bob', 'User:bob', 'topic:news\n', ':bob', 'bob', '', 'topic:é',
    `user:${name(64)}`, `user:${name(65)}`, `group:${name(64)}`, `group:${name(65)}`,
    `topic:${name(128)}`, `topic:${name(129)}`, `topic:${name(128, '/x')}`, `user:${name(64, '.-_')}`,
  ];
  const { rows } = await app.query<{ address: string; valid: boolean }>(
    'select a as address, switchyard.is_valid_address(a) as valid from unnest($1::text[]) as a', [candidates]);
  expect(rows.map((r) => [r.address, r.valid])).toEqual(candidates.map((a) => [a, addressProblem(a) === undefined]));
  expect(rows.filter((r) => r.valid)).toHaveLength(9);
});
