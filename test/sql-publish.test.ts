// The outbox's SQL face: switchyard.publish() inside the caller's own transaction commits or rolls
// back with the caller's business write.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
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
