// Registering webhook endpoints over HTTP (the client itself, or the admin for it), what URLs are
// refused, and a whole service delivering to a receiver on 127.0.0.1 and publishing its circuit
// transitions on topic:switchyard.circuits.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { AddressGuard, WebhookAddressError } from '../../src/webhooks/address-guard.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { WebhookReceiver } from '../helpers/webhook-receiver.ts';

let database: TestDatabase;
let service: TestService;
let alice: TestClient;
const receiver = new WebhookReceiver();

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    SWITCHYARD_WEBHOOK_BREAKER_FAILURES: '2',
    SWITCHYARD_WEBHOOK_BREAKER_COOLDOWN_MS: '60000',
  }, { metrics: { cacheMs: 0 } }); // the dashboard's numbers are read when asked, not up to 2 s before
  alice = await registerClient(service.admin, 'alice');
  await receiver.start();
});

afterAll(async () => {
  await service?.stop();
  await receiver.stop();
  await database?.drop();
});

test('a client registers its endpoint and sees the secret once; rotation shows the new one; the admin manages it too', async () => {
  const carol = await registerClient(service.admin, 'carol');
  const created = await carol.api.put('/v1/clients/me/webhook', { url: 'https://hooks.example.com/in', batch_size: 10 });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ url: 'https://hooks.example.com/in', batch_size: 10, concurrency: 4, timeout_ms: 10_000, enabled: true, circuit_state: 'closed' });
  expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
  const read = await carol.api.get('/v1/clients/me/webhook');
  expect(read.status).toBe(200);
  expect(read.body).not.toHaveProperty('secret');
  const changed = await carol.api.put('/v1/clients/me/webhook', { url: 'https://hooks.example.com/v2' });
  expect(changed.status).toBe(200);
  expect(changed.body).not.toHaveProperty('secret');
  const rotated = await carol.api.post('/v1/clients/me/webhook/rotate-secret', { overlap_seconds: 60 });
  expect(rotated.body).toMatchObject({ rotating: true });
  expect(rotated.body.secret).not.toBe(created.body.secret);
  expect((await service.admin.get(`/v1/admin/clients/${carol.id}/webhook`)).body).toMatchObject({ url: 'https://hooks.example.com/v2', rotating: true });
  const view = await sql<{ client_name: string; enabled: boolean; circuit_state: string }>`
    select client_name, enabled, circuit_state from switchyard.webhook_endpoints where client_id = ${carol.id}`.execute(service.db);
  expect(view.rows).toEqual([{ client_name: 'carol', enabled: true, circuit_state: 'closed' }]);
  expect((await service.admin.delete(`/v1/admin/clients/${carol.id}/webhook`)).body).toEqual({ deleted: true });
  expect((await carol.api.get('/v1/clients/me/webhook')).status).toBe(404);
  expect((await service.admin.put('/v1/admin/clients/999999/webhook', { url: 'https://hooks.example.com/' })).status).toBe(404);
});

test('URLs that are not https, carry credentials, or name a private, loopback or link-local address are refused', async () => {
  const dave = await registerClient(service.admin, 'dave');
  for (const url of [
    'http://hooks.example.com/', 'ftp://hooks.example.com/', 'https://user:pw@hooks.example.com/', 'https://10.1.2.3/',
    'https://192.168.0.10/', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/', 'https://[fe80::1]/', 'https://127.0.0.2/',
    'not a url',
  ]) {
    const reply = await dave.api.put('/v1/clients/me/webhook', { url });
    expect(reply.status, url).toBe(400);
    expect(reply.body, url).toMatchObject({ code: 'WebhookUrlRefused', errors: [{ path: 'url' }] });
  }
  expect((await dave.api.put('/v1/clients/me/webhook', { url: 'https://hooks.example.com/', batch_size: 101 })).body.errors[0].path).toBe('batch_size');
  expect((await dave.api.put('/v1/clients/me/webhook', { url: 'https://hooks.example.com/', timeout_ms: 99 })).body.errors[0].path).toBe('timeout_ms');
  expect((await dave.api.get('/v1/clients/me/webhook')).status).toBe(404); // nothing was stored
  // Allow-listed (SWITCHYARD_WEBHOOK_ALLOW_HOSTS=127.0.0.1): loopback, even over http.
  expect((await dave.api.put('/v1/clients/me/webhook', { url: 'http://127.0.0.1:9/hook' })).status).toBe(201);
  await dave.api.delete('/v1/clients/me/webhook');
});

test('the address is checked where the connection goes: a name that resolves to loopback is refused at delivery', async () => {
  const guard = new AddressGuard([]);
  const looked = await new Promise<Error | null>((resolve) => guard.lookup('localhost', {}, (error) => resolve(error)));
  expect(looked).toBeInstanceOf(WebhookAddressError);
  expect(looked!.message).toMatch(/localhost resolves to .*loopback/);
  expect(() => guard.checkAddress('x', '::ffff:10.0.0.1')).toThrow(WebhookAddressError); // IPv4-mapped IPv6
  expect(() => guard.checkAddress('x', '93.184.215.14')).not.toThrow();
  expect(() => new AddressGuard(['localhost']).checkAddress('localhost', '127.0.0.1')).not.toThrow();
  // Plain http, even allow-listed, connects to loopback only.
  const allowing = new AddressGuard(['10.0.0.5', 'intranet.example']);
  expect(() => allowing.checkAddress('10.0.0.5', '10.0.0.5')).not.toThrow();
  expect(() => allowing.checkAddress('intranet.example', '10.0.0.5', true)).toThrow(/loopback addresses only/);
  expect(() => allowing.checkUrl('http://10.0.0.5/hook')).toThrow(/loopback addresses only/);
  expect(() => new AddressGuard(['127.0.0.1']).checkUrl('http://127.0.0.1:8080/hook')).not.toThrow();
});

test('a running service delivers to the endpoint, opens the breaker when the receiver goes away and says so on topic:switchyard.circuits', async () => {
  const watcher = await registerClient(service.admin, 'watcher', ['topic:switchyard.circuits']);
  const erin = await registerClient(service.admin, 'erin');
  const registered = await erin.api.put('/v1/clients/me/webhook', { url: receiver.url });
  receiver.secrets = [registered.body.secret];
  const first = await publish(alice, { to: 'user:erin', payload: 'hello' });
  await eventually(async () => (receiver.ids().includes(first) ? true : undefined), 10_000, 'the webhook');
  expect(receiver.received.every((r) => r.verifiedWith.length === 1)).toBe(true);
  // The receiver records the request before it answers, and stopping it cuts open connections: wait
  // for the dispatcher's ack, or a stop in between turns the answer into a failure and a nack.
  await eventually(async () => {
    const acked = await sql`select 1 from switchyard.delivery_receipt where message_id = ${first}`.execute(service.db);
    return acked.rows.length > 0 ? true : undefined;
  }, 10_000, 'the ack of the webhook delivery');

  const port = await receiver.stop();
  for (let i = 0; i < 3; i++) await publish(alice, { to: 'user:erin', payload: i });
  const event = await eventually(async () => {
    const reply = await watcher.api.get('/v1/inbox?wait=1');
    return reply.body.messages.find((m: { type: string }) => m.type === 'circuit.open');
  }, 15_000, 'a circuit.open message');
  expect(event.payload).toMatchObject({ client_id: erin.id, client: 'erin', state: 'open' });
  expect((await erin.api.get('/v1/clients/me/webhook')).body.circuit_state).toBe('open');
  const metrics = (await service.anonymous.get('/metrics')).body as string;
  expect(metrics).toContain(`switchyard_webhook_circuit_state{client_id="${erin.id}",state="open"} 1`);
  const view = await sql<{ circuit_state: string }>`select circuit_state from switchyard.webhook_endpoints where client_id = ${erin.id}`.execute(service.db);
  expect(view.rows).toEqual([{ circuit_state: 'open' }]);
  const dashboard = await service.admin.get('/v1/admin/dashboard/snapshot');
  expect(dashboard.body.circuits[0]).toMatchObject({ client_id: erin.id, client_name: 'erin', circuit_state: 'open', enabled: true });
  expect(dashboard.body.processing.map((p: { client_name: string }) => p.client_name)).toContain('erin'); // the webhook's ack was timed
  await receiver.start(port);
});
