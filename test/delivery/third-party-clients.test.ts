// Clients nobody here wrote, straight at the endpoints: the `eventsource` package (WHATWG
// EventSource for Node, with the Authorization header through its fetch option) reads the SSE
// stream, and Node's own global WebSocket (undici) speaks the WebSocket protocol. The browser
// (Chromium) is in client/test/client.browser.test.ts.
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let sender: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, { SWITCHYARD_RATE_LIMIT_PER_SECOND: '0' });
  sender = await registerClient(service.admin, 'sender');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

test('the eventsource package reads the stream with a bearer header, and its events carry resumable ids', async () => {
  const me = await registerClient(service.admin, 'esther');
  const source = new EventSource(`${service.url}/v1/inbox/stream`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${me.token}` } }),
  });
  const received: MessageEvent[] = [];
  source.addEventListener('message', (event) => received.push(event));
  const id = await publish(sender, { to: 'user:esther', payload: { hi: 1 } });
  await eventually(async () => (received.length > 0 ? true : undefined), 5_000, 'a message event');
  const message = JSON.parse(received[0]!.data);
  expect(message.id).toBe(id);
  expect(received[0]!.lastEventId).toMatch(/^[A-Za-z0-9_-]{8,32}:1$/);
  expect((await me.api.post('/v1/inbox/ack', { receipts: [message.receipt] })).body).toEqual({ acked: 1, not_acked: [] });
  source.close();
});

test("Node's global WebSocket offers the bearer subprotocol, gets switchyard.v1 back, and acks over frames", async () => {
  const me = await registerClient(service.admin, 'wanda');
  const socket = new WebSocket(`${service.url.replace(/^http/, 'ws')}/v1/inbox/ws`, ['switchyard.v1', `bearer.${me.token}`]);
  const frames: any[] = [];
  socket.addEventListener('message', (event) => frames.push(JSON.parse(String(event.data))));
  await new Promise((resolve) => socket.addEventListener('open', resolve, { once: true }));
  expect(socket.protocol).toBe('switchyard.v1');
  socket.send(JSON.stringify({ type: 'hello' }));
  const id = await publish(sender, { to: 'user:wanda', payload: 'hello' });
  const message = await eventually(async () => frames.find((f) => f.type === 'message')?.message, 5_000, 'a message frame');
  expect(message.id).toBe(id);
  socket.send(JSON.stringify({ type: 'ack', id: 'a1', receipts: [message.receipt] }));
  expect(await eventually(async () => frames.find((f) => f.type === 'result'), 5_000, 'the ack result')).toEqual({ type: 'result', id: 'a1', result: { acked: 1, not_acked: [] } });
  socket.close();
});
