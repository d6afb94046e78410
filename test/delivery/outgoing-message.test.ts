// One message, read over every route and transport that hands messages out (the reply to a
// request, the long poll, SSE, WebSocket, history): the shared fields carry the same values
// everywhere, and each route sends exactly its own fields on top, no more and no fewer.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, registerClient, type TestClient } from '../helpers/factories.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { openEventStream } from '../helpers/sse.ts';
import { openWebSocket, wsUrl } from '../helpers/ws.ts';

let database: TestDatabase;
let service: TestService;
let alice: TestClient;
let bob: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
  alice = await registerClient(service.admin, 'alice');
  bob = await registerClient(service.admin, 'bob');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

const SHARED = ['id', 'from', 'to', 'type', 'payload', 'headers', 'sent_at'];
const DELIVERY = [...SHARED, 'receipt', 'priority', 'receive_count', 'group_id', 'correlation_id', 'reply_to'];
const HISTORY = [...SHARED, 'correlation_id', 'reply_to', 'label'];

const keys = (value: object) => Object.keys(value).sort();
const shared = (message: Record<string, unknown>) => Object.fromEntries(SHARED.map((key) => [key, message[key]]));

async function receiveOne(client: TestClient): Promise<Record<string, any>> {
  return eventually(async () => (await client.api.get('/v1/inbox?wait=1&max=1')).body.messages[0], 10_000, `a message for ${client.name}`);
}

test('a reply reads the same over the request, the long poll, SSE, WebSocket and history', async () => {
  const answering = (async () => {
    const request = await receiveOne(bob);
    expect(keys(request)).toEqual([...DELIVERY].sort());
    await bob.api.post('/v1/messages', {
      to: request.reply_to, correlation_id: request.correlation_id, type: 'answer', payload: { answer: 42 }, headers: { lang: 'en' }, priority: 3,
    });
    await bob.api.post('/v1/inbox/ack', { receipts: [request.receipt] });
  })();
  const requested = await alice.api.post('/v1/requests', { to: 'user:bob', payload: { question: 'life' }, timeout_seconds: 10 });
  await answering;
  expect(requested.status).toBe(200);
  const reply = requested.body.reply;
  expect(keys(reply)).toEqual([...SHARED].sort());
  expect(reply).toMatchObject({ from: 'user:bob', to: 'user:alice', type: 'answer', payload: { answer: 42 }, headers: { lang: 'en' } });
  expect(new Date(reply.sent_at).toISOString()).toBe(reply.sent_at);

  // The reply is also delivered to reply_to like any message: alice's inbox holds it.
  const polled = await receiveOne(alice);
  expect(keys(polled)).toEqual([...DELIVERY].sort());
  expect(shared(polled)).toEqual(reply);
  expect(polled).toMatchObject({
    receipt: `${reply.id}.1`, priority: 3, receive_count: 1, group_id: null, correlation_id: requested.body.correlation_id, reply_to: null,
  });
  expect(Object.keys(polled).slice(0, 2)).toEqual(['id', 'receipt']); // the README's examples show it so
  await alice.api.post('/v1/inbox/nack', { receipts: [polled.receipt], delay_seconds: 0 });

  const stream = await openEventStream(`${service.url}/v1/inbox/stream`, { token: alice.token });
  const event = await stream.next(10_000);
  expect(event?.event).toBe('message');
  const streamed = JSON.parse(event!.data);
  expect(streamed).toEqual({ ...polled, receipt: `${reply.id}.2`, receive_count: 2 });
  stream.close(); // first, or the open stream takes the message again at once
  await alice.api.post('/v1/inbox/nack', { receipts: [streamed.receipt], delay_seconds: 0 });

  const ws = await openWebSocket(wsUrl(service.url), { token: alice.token });
  await ws.request({ type: 'hello' });
  const frame = await ws.nextOf('message', 10_000);
  expect(frame?.message).toEqual({ ...polled, receipt: `${reply.id}.3`, receive_count: 3 });
  await ws.request({ type: 'ack', receipts: [frame!.message.receipt] });
  ws.close();

  const page = await eventually(async () => {
    const history = await alice.api.get('/v1/history?conversation=user:bob');
    return history.body.messages.find((m: { id: string }) => m.id === reply.id);
  }, 10_000, 'the reply in history');
  expect(keys(page)).toEqual([...HISTORY].sort());
  expect(shared(page)).toEqual(reply);
  expect(page).toMatchObject({ correlation_id: requested.body.correlation_id, reply_to: null, label: null });
});
