// One token must not hold unlimited long-lived work, and made-up tokens must not reach the
// database without limit: event streams and waits (long polls, requests) are capped per client,
// failed authentications are throttled per source address, and the HTTP server's connection
// limits and timeouts are set, not left to Node's defaults.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, listen, REQUEST_TIMEOUT_MS } from '../../src/http/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { registerClient, type TestClient } from '../helpers/factories.ts';
import { expectProblem } from '../helpers/problems.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { openEventStream, type SseConnection } from '../helpers/sse.ts';

const MAX_STREAMS = 2;
const MAX_WAITS = 2;
const AUTH_FAILURES_BURST = 3;

let database: TestDatabase;
let service: TestService;
let alice: TestClient;
let bob: TestClient;
/** The service's clock (leases, rate limits) runs with real time plus this: a test moves it on instead of sleeping. */
let clockAheadMs = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_MAX_STREAMS_PER_CLIENT: String(MAX_STREAMS),
    SWITCHYARD_MAX_WAITS_PER_CLIENT: String(MAX_WAITS),
    SWITCHYARD_AUTH_FAILURES_BURST: String(AUTH_FAILURES_BURST),
    SWITCHYARD_AUTH_FAILURES_PER_SECOND: '1',
    SWITCHYARD_HTTP_MAX_CONNECTIONS: '20',
  }, {}, { now: () => new Date(Date.now() + clockAheadMs) });
  alice = await registerClient(service.admin, 'alice');
  bob = await registerClient(service.admin, 'bob');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

describe('event streams per client', () => {
  test(`the ${MAX_STREAMS}th opens, the next is 429 TooManyStreams with Retry-After; closing one lets a new one in`, async () => {
    const open: SseConnection[] = [];
    try {
      for (let i = 0; i < MAX_STREAMS; i++) open.push(await openEventStream(`${service.url}/v1/inbox/stream`, { token: alice.token }));
      expect(open.map((s) => s.status)).toEqual(Array(MAX_STREAMS).fill(200));
      const refused = await openEventStream(`${service.url}/v1/inbox/stream`, { token: alice.token });
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'TooManyStreams' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another client's streams are its own.
      const bobs = await openEventStream(`${service.url}/v1/inbox/stream`, { token: bob.token });
      expect(bobs.status).toBe(200);
      open.push(bobs);
      open.shift()!.close();
      let again: SseConnection | undefined;
      for (let attempt = 0; attempt < 50 && again?.status !== 200; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50)); // the server hears of the close
        again = await openEventStream(`${service.url}/v1/inbox/stream`, { token: alice.token });
        if (again.status !== 200) again.close();
      }
      expect(again!.status).toBe(200);
      open.push(again!);
    } finally {
      for (const stream of open) stream.close();
    }
  });
});

describe('waits per client (long polls and requests together)', () => {
  test(`${MAX_WAITS} waits hold, the next long poll or request is 429 TooManyWaits; after they end there is room again`, async () => {
    const polls = Array.from({ length: MAX_WAITS }, () => alice.api.get('/v1/inbox?wait=2'));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the polls are waiting
    expectProblem(await alice.api.get('/v1/inbox?wait=2'), 429, 'TooManyWaits');
    const request = await alice.api.post('/v1/requests', { to: 'user:bob', payload: 1, timeout_seconds: 0.1 });
    expectProblem(request, 429, 'TooManyWaits');
    expect(Number(request.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await bob.api.get('/v1/inbox?wait=0')).status).toBe(200);
    expect((await Promise.all(polls)).map((r) => r.status)).toEqual(Array(MAX_WAITS).fill(200));
    expect((await alice.api.get('/v1/inbox?wait=0')).status).toBe(200);
  });
});

describe('failed authentication per source address', () => {
  test(`after ${AUTH_FAILURES_BURST} unknown tokens the next is 429 AuthFailuresThrottled before any lookup; known tokens still work`, async () => {
    const unknown = (i: number) => service.anonymous.get('/v1/inbox?wait=0', { authorization: `Bearer ${'x'.repeat(40)}${i}` });
    await alice.api.get('/v1/inbox?wait=0'); // alice's token is known (cached) before the flood
    for (let i = 0; i < AUTH_FAILURES_BURST; i++) expectProblem(await unknown(i), 401, 'TokenInvalid');
    const throttled = await unknown(99);
    expectProblem(throttled, 429, 'AuthFailuresThrottled');
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    // A valid token this process has never looked up is refused too: proof that it was not looked up.
    const carl = await registerClient(service.admin, 'carl');
    expectProblem(await carl.api.get('/v1/inbox?wait=0'), 429, 'AuthFailuresThrottled');
    // A client whose token is already known is not locked out by its neighbours.
    expect((await alice.api.get('/v1/inbox?wait=0')).status).toBe(200);
    clockAheadMs += 1_100; // one failure refills per second
    expect((await carl.api.get('/v1/inbox?wait=0')).status).toBe(200);
    expectProblem(await unknown(100), 401, 'TokenInvalid');
    expectProblem(await unknown(101), 429, 'AuthFailuresThrottled');
  });
});

describe('the HTTP server', () => {
  test('sets its timeouts explicitly', async () => {
    const server = await listen(() => new Response('ok'), 0, '127.0.0.1', { maxConnections: 7 });
    try {
      expect(server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
      expect(server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
      expect(server.keepAliveTimeout).toBe(KEEP_ALIVE_TIMEOUT_MS);
      expect(HEADERS_TIMEOUT_MS).toBeLessThan(60_000); // shorter than Node's default
      expect(server.maxConnections).toBe(7);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('closes connections beyond SWITCHYARD_HTTP_MAX_CONNECTIONS at once', async () => {
    const { hostname, port } = new URL(service.url);
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const socket = net.connect(Number(port), hostname);
        await new Promise((resolve) => socket.once('connect', resolve));
        sockets.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 200)); // accepted and counted
      const extra = net.connect(Number(port), hostname);
      sockets.push(extra);
      const closed = await new Promise<boolean>((resolve) => {
        extra.once('close', () => resolve(true));
        extra.once('error', () => resolve(true));
        setTimeout(() => resolve(false), 2_000);
      });
      expect(closed).toBe(true);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await alice.api.get('/v1/inbox?wait=0')).status).toBe(200);
  });
});

describe('the settings', () => {
  test.each(['SWITCHYARD_MAX_STREAMS_PER_CLIENT', 'SWITCHYARD_MAX_WAITS_PER_CLIENT', 'SWITCHYARD_HTTP_MAX_CONNECTIONS', 'SWITCHYARD_AUTH_FAILURES_BURST'])(
    '%s: 1 is the least, 0 stops the start naming the variable',
    (name) => {
      expect(() => loadConfig({ [name]: '1' })).not.toThrow();
      expect(() => loadConfig({ [name]: '0' })).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: '0' })).toThrow(name);
    },
  );

  test('SWITCHYARD_AUTH_FAILURES_PER_SECOND=0 turns the throttle off', () => {
    expect(loadConfig({ SWITCHYARD_AUTH_FAILURES_PER_SECOND: '0' }).authFailures.perSecond).toBe(0);
  });
});
