// What only the WebSocket transport has: the upgrade's authentication, the frame protocol and its
// limits, publishing over the socket, slow consumers and silent sockets. What it shares with SSE
// is proven for both in stream-transports.test.ts.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import WsClient from 'ws';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { openWebSocket, wsUrl, type WsConnection } from '../helpers/ws.ts';

const addFormats = addFormatsModule.default; // a CommonJS default export
const BODY_LIMIT = 1_048_576; // SWITCHYARD_MAX_BODY_BYTES's default

let database: TestDatabase;
let service: TestService;
let ada: TestClient;
let bob: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_RATE_LIMIT_PER_SECOND: '0', SWITCHYARD_WS_PING_MS: '300', SWITCHYARD_SSE_WRITE_TIMEOUT_MS: '1000',
  });
  expect((await service.admin.put('/v1/admin/groups/eng/members/ada', {})).status).toBe(200);
  ada = await registerClient(service.admin, 'ada', ['topic:firehose']);
  bob = await registerClient(service.admin, 'bob');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

/** Opens with the ws package, which can send headers; resolves with the socket and the handshake's response headers, or the refusal. */
function upgrade(headers: Record<string, string>, protocols: string[] = ['switchyard.v1'], options: WsClient.ClientOptions = {}, baseUrl = service.url) {
  return new Promise<{ socket?: WsClient; status: number; headers: Record<string, unknown> }>((resolve) => {
    const socket = new WsClient(wsUrl(baseUrl), protocols, { headers, ...options });
    socket.on('upgrade', (res) => socket.once('open', () => resolve({ socket, status: 101, headers: res.headers })));
    socket.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode!, headers: res.headers }));
    socket.on('error', () => undefined);
  });
}

test('the upgrade takes the token from the Authorization header and echoes only switchyard.v1', async () => {
  const opened = await upgrade({ authorization: `Bearer ${ada.token}` }, ['switchyard.v1']);
  expect(opened.status).toBe(101);
  expect(opened.headers['sec-websocket-protocol']).toBe('switchyard.v1');
  opened.socket!.close();
});

test('a bearer.<token> subprotocol authenticates a browser socket, and the token is never echoed', async () => {
  const opened = await upgrade({}, ['switchyard.v1', `bearer.${ada.token}`]);
  expect(opened.status).toBe(101);
  expect(opened.headers['sec-websocket-protocol']).toBe('switchyard.v1');
  opened.socket!.close();
});

test('an upgrade without a token, with a revoked one, or as the admin is refused before any socket opens', async () => {
  expect((await upgrade({})).status).toBe(401);
  const gone = await registerClient(service.admin, 'gone');
  expect((await service.admin.post(`/v1/admin/clients/${gone.id}/revoke`)).status).toBe(200);
  expect((await upgrade({}, ['switchyard.v1', `bearer.${gone.token}`])).status).toBe(401);
  expect((await upgrade({ authorization: 'Bearer test-admin-token-0123456789abcdef0123456789' })).status).toBe(403);
});

test('the token cookie works from pages of this service, and is refused from another origin (403)', async () => {
  const cookie = `switchyard_token=${ada.token}`;
  const own = await upgrade({ cookie, origin: service.url });
  expect(own.status).toBe(101);
  own.socket!.close();
  expect((await upgrade({ cookie, origin: 'https://evil.example' })).status).toBe(403);
  expect((await upgrade({ cookie, origin: 'null' })).status).toBe(403);
});

test('malformed, binary and unknown frames get an error frame and the socket stays open', async () => {
  const ws = await openWebSocket(wsUrl(service.url), { token: bob.token });
  ws.send('{not json');
  expect((await ws.next())!.problem.code).toBe('MalformedJson');
  ws.socket.send(new Uint8Array([1, 2, 3]));
  expect((await ws.next())!.problem.code).toBe('MalformedJson');
  ws.send({ type: 'subscribe', id: 'x1' });
  expect(await ws.next()).toMatchObject({ type: 'error', id: 'x1', problem: { code: 'ValidationFailed' } });
  ws.send({ type: 'ack', id: 'x2', receipts: ['nope'] });
  expect(await ws.next()).toMatchObject({ type: 'error', id: 'x2', problem: { code: 'ValidationFailed', errors: [{ path: 'receipts.0' }] } });
  ws.send({ type: 'ping', id: 'p1' });
  expect(await ws.nextOf('pong')).toEqual({ type: 'pong', id: 'p1' });
  ws.close();
});

test('hello twice is refused with Conflict; the first stream goes on', async () => {
  const ws = await openWebSocket(wsUrl(service.url), { token: bob.token });
  expect((await ws.request({ type: 'hello' })).result).toEqual({ stream: 'started' });
  expect((await ws.request({ type: 'hello' })).problem.code).toBe('Conflict');
  const id = await publish(ada, { to: 'user:bob', payload: 'still here' });
  expect((await ws.nextOf('message'))!.message.id).toBe(id);
  ws.close();
});

test(`frames up to the body limit are read; larger ones get PayloadTooLarge; over twice the limit close the socket with 1009`, async () => {
  const ws = await openWebSocket(wsUrl(service.url), { token: bob.token });
  const frame = (bytes: number) => {
    const base = JSON.stringify({ type: 'ping', id: 'big', pad: '' });
    return JSON.stringify({ type: 'ping', id: 'big', pad: 'x'.repeat(bytes - base.length) });
  };
  ws.send(frame(BODY_LIMIT)); // read (and refused as a ping with an unknown field: it was parsed)
  expect((await ws.next())!.problem.code).toBe('ValidationFailed');
  ws.send(frame(BODY_LIMIT + 1));
  expect((await ws.next())!.problem.code).toBe('PayloadTooLarge');
  ws.send(frame(2 * BODY_LIMIT + 1));
  expect((await ws.closed).code).toBe(1009);
});

test('frames beyond the burst of 200 are dropped with RateLimited error frames', async () => {
  const ws = await openWebSocket(wsUrl(service.url), { token: bob.token });
  for (let i = 0; i < 260; i++) ws.send({ type: 'ping' });
  const frames = [];
  for (let f = await ws.next(); f; f = await ws.next(500)) frames.push(f);
  const limited = frames.filter((f) => f.type === 'error' && f.problem.code === 'RateLimited').length;
  expect(limited).toBeGreaterThanOrEqual(50);
  expect(frames.filter((f) => f.type === 'pong').length).toBe(260 - limited);
  ws.close();
});

test('publish frames are validated, authorized and idempotent exactly like POST /v1/messages', async () => {
  const ws = await openWebSocket(wsUrl(service.url), { token: ada.token });
  const bad = await ws.request({ type: 'publish', message: { to: 'nowhere', payload: 1 } });
  expect(bad.problem).toMatchObject({ status: 400, code: 'ValidationFailed', errors: [{ path: 'to' }] });
  const foreign = await registerClient(service.admin, 'carl');
  const carl = await openWebSocket(wsUrl(service.url), { token: foreign.token });
  expect((await carl.request({ type: 'publish', message: { to: 'group:eng', payload: 1 } })).problem.code).toBe('NotAGroupMember');
  carl.close();
  expect((await ws.request({ type: 'publish', message: { to: 'user:bob', payload: 1 }, messages: [] })).problem.code).toBe('ValidationFailed');

  const message = { to: 'user:bob', payload: { n: 42 } };
  const first = await ws.request({ type: 'publish', idempotency_key: 'k-1', message });
  expect(first.result).toEqual({ id: expect.any(String) });
  const again = await ws.request({ type: 'publish', idempotency_key: 'k-1', message });
  expect(again.result).toEqual(first.result);
  const overHttp = await ada.api.post('/v1/messages', message, { 'idempotency-key': 'k-1' });
  expect(overHttp.status).toBe(202);
  expect(overHttp.headers.get('idempotent-replayed')).toBe('true');
  expect(overHttp.body.id).toBe(first.result.id);
  const reused = await ws.request({ type: 'publish', idempotency_key: 'k-1', message: { ...message, payload: 'other' } });
  expect(reused.problem.code).toBe('IdempotencyKeyReused');

  const batch = await ws.request({ type: 'publish', messages: [{ to: 'user:bob', payload: 1 }, { to: 'user:bob', payload: 2 }] });
  expect(batch.result).toEqual({ ids: [expect.any(String), expect.any(String)] });
  const badBatch = await ws.request({ type: 'publish', messages: [{ to: 'user:bob', payload: 1 }, { to: 'x', payload: 2 }] });
  expect(badBatch.problem.errors[0].path).toBe('messages.1.to');
  ws.close();
});

test('nack and extend frames answer with the shapes of their HTTP routes', async () => {
  const dan = await registerClient(service.admin, 'dan');
  const ids = [await publish(ada, { to: 'user:dan', payload: 1 }), await publish(ada, { to: 'user:dan', payload: 2 })];
  const ws = await openWebSocket(wsUrl(service.url), { token: dan.token });
  await ws.request({ type: 'hello', visibility: 600 });
  const [a, b] = [(await ws.nextOf('message'))!.message, (await ws.nextOf('message'))!.message];
  expect([a.id, b.id]).toEqual(ids);
  const unknown = '00000000-0000-7000-8000-000000000000.1';
  expect((await ws.request({ type: 'extend', receipts: [a.receipt, unknown], visibility: 60 })).result)
    .toEqual({ extended: 1, not_extended: [unknown] });
  expect((await ws.request({ type: 'nack', receipts: [b.receipt], delay_seconds: 0 })).result)
    .toEqual({ nacked: 1, dead_lettered: [], not_nacked: [] });
  expect((await ws.nextOf('message'))!.message).toMatchObject({ id: b.id, receive_count: 2 });
  ws.close();
});

test('a socket that is not read is closed as a slow consumer, and what it held goes back to the queue at once', async () => {
  // A service whose pings come too rarely to drop the stuck socket first (it cannot answer them).
  const patient = await startTestService(database.url, { SWITCHYARD_RATE_LIMIT_PER_SECOND: '0', SWITCHYARD_SSE_WRITE_TIMEOUT_MS: '1000' });
  const erin = await registerClient(service.admin, 'erin');
  const stuck = await upgrade({ authorization: `Bearer ${erin.token}` }, ['switchyard.v1'], {}, patient.url);
  stuck.socket!.send(JSON.stringify({ type: 'hello', prefetch: 1000, visibility: 600 }));
  await new Promise((resolve) => setTimeout(resolve, 200));
  stuck.socket!.pause(); // never read: the server's writes back up
  const closed = new Promise<number>((resolve) => stuck.socket!.once('close', (code) => resolve(code)));
  const payload = 'x'.repeat(64 * 1024);
  const total = 150; // about 10 MB, far more than the socket buffers and the high-water mark hold
  for (let i = 0; i < total; i += 10) {
    const messages = Array.from({ length: 10 }, (_, j) => ({ to: 'user:erin', payload: { i: i + j, payload } }));
    expect((await ada.api.post('/v1/messages/batch', { messages })).status).toBe(202);
  }
  // Leases of 600 s: the healthy socket can only get them all now because the stuck one gave them back.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const healthy = await openWebSocket(wsUrl(patient.url), { token: erin.token });
  await healthy.request({ type: 'hello', prefetch: 1000, visibility: 600 });
  const seen = new Set<number>();
  while (seen.size < total) {
    const frame = await healthy.nextOf('message', 10_000);
    if (!frame) break;
    seen.add(frame.message.payload.i);
  }
  expect(seen.size).toBe(total);
  stuck.socket!.resume();
  expect([1006, 4429]).toContain(await closed);
  healthy.close();
  await patient.stop();
});

test('a socket that does not answer pings is terminated', async () => {
  const silent = await upgrade({ authorization: `Bearer ${bob.token}` }, ['switchyard.v1'], { autoPong: false });
  const started = Date.now();
  const code = await new Promise<number>((resolve) => silent.socket!.once('close', (c) => resolve(c)));
  expect(code).toBe(1006); // terminated: no closing handshake
  expect(Date.now() - started).toBeLessThan(3_000);
  // One that answers stays.
  const answering: WsConnection = await openWebSocket(wsUrl(service.url), { token: bob.token });
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  expect(answering.socket.readyState).toBe(WebSocket.OPEN);
  answering.close();
});

test('shutting down says so in a closed frame and closes with 1001', async () => {
  const other = await startTestService(database.url, { SWITCHYARD_RATE_LIMIT_PER_SECOND: '0' });
  const ws = await openWebSocket(wsUrl(other.url), { token: bob.token });
  await ws.request({ type: 'hello' });
  const stopping = other.stop();
  expect(await ws.nextOf('closed')).toMatchObject({ type: 'closed', code: 'ShuttingDown' });
  expect((await ws.closed).code).toBe(1001);
  await stopping;
});

test('every kind of frame the server sends matches WsServerFrame, and the frames sent here WsClientFrame, in /openapi.json', async () => {
  const doc = (await service.anonymous.get('/openapi.json')).body;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const serverFrame = ajv.compile({ $ref: '#/components/schemas/WsServerFrame', components: doc.components });
  const clientFrame = ajv.compile({ $ref: '#/components/schemas/WsClientFrame', components: doc.components });
  const fay = await registerClient(service.admin, 'fay');
  const ws = await openWebSocket(wsUrl(service.url), { token: fay.token });
  const sent = [
    { type: 'hello', id: 'h', prefetch: 5, visibility: 30, ack: 'manual' },
    { type: 'publish', id: 'p', message: { to: 'user:fay', payload: { n: 1 } } },
    { type: 'publish', id: 'b', messages: [{ to: 'user:fay', payload: 2 }] },
    { type: 'publish', id: 'bad', message: { to: 'nowhere', payload: 1 } },
    { type: 'ping', id: 'q' },
  ];
  for (const frame of sent) {
    expect(clientFrame(frame), ajv.errorsText(clientFrame.errors)).toBe(true);
    ws.send(frame);
  }
  ws.send({ type: 'nonsense' });
  const frames = [];
  for (let f = await ws.next(); f; f = await ws.next(1_000)) frames.push(f);
  const message = frames.find((f) => f.type === 'message')!;
  ws.send({ type: 'ack', id: 'a', receipts: [message.message.receipt] });
  frames.push((await ws.nextOf('result'))!);
  expect(new Set(frames.map((f) => f.type))).toEqual(new Set(['result', 'message', 'pong', 'error']));
  expect(frames.some((f) => f.type === 'result' && f.problem)).toBe(true);
  await service.admin.post(`/v1/admin/clients/${fay.id}/revoke`);
  frames.push((await ws.nextOf('closed'))!);
  for (const frame of frames) expect(serverFrame(frame), `${JSON.stringify(frame).slice(0, 300)}: ${ajv.errorsText(serverFrame.errors)}`).toBe(true);
  expect(frames.at(-1)).toMatchObject({ type: 'closed', code: 'TokenInvalid' });
  expect((await ws.closed).code).toBe(4401);
});

test('random frames (any JSON, near-valid frames, text that is not JSON) never break the socket', async () => {
  const gil = await registerClient(service.admin, 'gil');
  const types = fc.constantFrom('hello', 'ack', 'nack', 'extend', 'publish', 'ping', 'message', 'result', '', 'HELLO');
  const nearValid = fc.record({
    type: types,
    id: fc.oneof(fc.string({ maxLength: 80 }), fc.integer(), fc.constant(null)),
    receipts: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.anything()),
    message: fc.oneof(fc.record({ to: fc.constantFrom('user:gil', 'topic:x', 'nowhere'), payload: fc.jsonValue() }), fc.anything()),
    prefetch: fc.anything(),
    visibility: fc.anything(),
  }, { requiredKeys: ['type'] });
  const frame = fc.oneof(nearValid.map((f) => JSON.stringify(f)), fc.json(), fc.string({ maxLength: 200 }));
  await fc.assert(fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 20 }), async (frames) => {
    const ws = await openWebSocket(wsUrl(service.url), { token: gil.token });
    try {
      for (const text of frames) ws.send(text);
      ws.send({ type: 'ping', id: 'still-there' });
      for (let f = await ws.next(); ; f = await ws.next()) {
        expect(f, 'the socket answered the ping').toBeDefined();
        expect(f!.type).not.toBe('closed');
        if (f!.type === 'pong' && f!.id === 'still-there') break;
      }
      expect(ws.socket.readyState).toBe(WebSocket.OPEN);
    } finally {
      ws.close();
    }
  }), { numRuns: Number(process.env.FUZZ_RUNS ?? 30), ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) });
});
