// Per-client rate limits: a token bucket per client; a refusal is 429 RateLimited with
// Retry-After, and every client answer carries the RateLimit and RateLimit-Policy fields.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RateLimiter } from '../src/auth/rate-limiter.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { registerClient, type TestClient } from './helpers/factories.ts';
import { countRows, expectProblem } from './helpers/problems.ts';
import { startTestService, type TestService } from './helpers/service.ts';
import { openEventStream } from './helpers/sse.ts';

describe('the token bucket', () => {
  test('lets a burst through, then one request per refill, and says when to come back', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 3, () => now); // 2 per second, bursts of 3
    const taken = [1, 2, 3, 4].map(() => limiter.take('a'));
    expect(taken.map((t) => t.allowed)).toEqual([true, true, true, false]);
    expect(taken[0]!.headers).toEqual({ 'RateLimit-Policy': '"client";q=3;w=2', RateLimit: '"client";r=2;t=1' });
    expect(taken[3]!.headers).toMatchObject({ RateLimit: '"client";r=0;t=2', 'Retry-After': '1' });
    expect(limiter.take('b').allowed).toBe(true); // buckets are per client
    now += 500; // one token back
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    now += 60_000; // never more than the burst
    expect([1, 2, 3, 4].map(() => limiter.take('a').allowed)).toEqual([true, true, true, false]);
  });
});

describe('over HTTP', () => {
  let database: TestDatabase;
  let service: TestService;
  let alice: TestClient;
  let bob: TestClient;

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startTestService(database.url, { SWITCHYARD_RATE_LIMIT_PER_SECOND: '1', SWITCHYARD_RATE_LIMIT_BURST: '3' });
    alice = await registerClient(service.admin, 'alice');
    bob = await registerClient(service.admin, 'bob');
  });

  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  test('past its burst a client gets 429 with Retry-After and RateLimit fields, and nothing is written', async () => {
    const ok = await alice.api.post('/v1/messages', { to: 'topic:news', payload: 1 });
    expect(ok.status).toBe(202);
    expect(ok.headers.get('ratelimit-policy')).toBe('"client";q=3;w=3');
    expect(ok.headers.get('ratelimit')).toBe('"client";r=2;t=1');
    await alice.api.get('/v1/clients/me');
    await alice.api.get('/v1/inbox');
    let before = await countRows(database.db);
    // The bucket is empty now, unless a slow machine took a second to get here: then one more.
    let refused = await alice.api.post('/v1/messages', { to: 'topic:news', payload: 2 });
    if (refused.status === 202) {
      before = await countRows(database.db);
      refused = await alice.api.post('/v1/messages', { to: 'topic:news', payload: 3 });
    }
    expectProblem(refused, 429, 'RateLimited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit')).toMatch(/^"client";r=0;t=\d+$/);
    expect(await countRows(database.db)).toEqual(before);
    // other clients and the admin are not affected
    expect((await bob.api.get('/v1/clients/me')).status).toBe(200);
    expect((await service.admin.get('/v1/admin/groups/eng/members')).status).toBe(200);
  });

  test('an event stream, written straight to the socket, carries the RateLimit fields too', async () => {
    const erin = await registerClient(service.admin, 'erin');
    const stream = await openEventStream(`${service.url}/v1/inbox/stream`, { token: erin.token });
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get('ratelimit-policy')).toBe('"client";q=3;w=3');
      expect(stream.headers.get('ratelimit')).toBe('"client";r=2;t=1');
    } finally {
      stream.close();
    }
  });

  test('one request takes one token, whatever the route matching does', async () => {
    const carol = await registerClient(service.admin, 'carol');
    const first = await carol.api.post('/v1/messages/batch', { messages: [{ to: 'topic:news', payload: 1 }] });
    expect(first.headers.get('ratelimit')).toBe('"client";r=2;t=1');
    const second = await carol.api.post('/v1/messages', { to: 'topic:news', payload: 1 });
    expect(second.headers.get('ratelimit')).toBe('"client";r=1;t=2');
  });
});
