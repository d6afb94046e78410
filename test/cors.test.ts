// Browsers on other origins: CORS for the configured allowlist only, preflights included (the
// stream and the long poll need one, for their Authorization header), credentials only for
// allowed origins, errors included.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { registerClient, type TestClient } from './helpers/factories.ts';
import { expectProblem } from './helpers/problems.ts';
import { startTestService, type TestService } from './helpers/service.ts';

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.net';

let database: TestDatabase;
let service: TestService;
let alice: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, { SWITCHYARD_CORS_ORIGINS: `${APP}, http://localhost:5173` });
  alice = await registerClient(service.admin, 'alice');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

const preflight = (path: string, origin: string, headers = 'authorization, last-event-id') =>
  service.anonymous.raw('OPTIONS', path, undefined, { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': headers });

describe('preflight', () => {
  test.each(['/v1/inbox/stream', '/v1/inbox?wait=20', '/v1/messages'])('from an allowed origin, for %s: 204 with what the page may send', async (path) => {
    const reply = await preflight(path, APP);
    expect(reply.status).toBe(204);
    expect(reply.headers.get('access-control-allow-origin')).toBe(APP);
    expect(reply.headers.get('access-control-allow-credentials')).toBe('true');
    expect(reply.headers.get('access-control-allow-methods')).toContain('GET');
    const allowed = reply.headers.get('access-control-allow-headers')!.toLowerCase().split(',');
    for (const header of ['authorization', 'last-event-id', 'content-type', 'idempotency-key']) expect(allowed).toContain(header);
    expect(reply.headers.get('vary')).toContain('Origin');
  });

  test('from any other origin: 403 OriginNotAllowed, with no CORS header at all', async () => {
    const reply = await preflight('/v1/inbox/stream', EVIL);
    expectProblem(reply, 403, 'OriginNotAllowed');
    for (const header of ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-allow-headers']) expect(reply.headers.get(header)).toBeNull();
  });
});

describe('requests', () => {
  test('from an allowed origin carry the CORS headers, errors and the event stream included', async () => {
    const poll = await alice.api.get('/v1/inbox', { origin: APP });
    expect(poll.status).toBe(200);
    expect(poll.headers.get('access-control-allow-origin')).toBe(APP);
    expect(poll.headers.get('access-control-allow-credentials')).toBe('true');
    expect(poll.headers.get('access-control-expose-headers')).toContain('RateLimit');

    const unauthorized = await service.anonymous.get('/v1/inbox', { origin: APP });
    expectProblem(unauthorized, 401, 'TokenMissing');
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe(APP);

    const abort = new AbortController();
    const stream = await fetch(`${service.url}/v1/inbox/stream?access_token=${alice.token}`, { headers: { origin: APP }, signal: abort.signal });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('access-control-allow-origin')).toBe(APP);
    expect(stream.headers.get('access-control-allow-credentials')).toBe('true');
    abort.abort();
    await stream.body?.cancel().catch(() => undefined);
  });

  test('from another origin get no CORS header (the browser hides the answer), and Vary: Origin', async () => {
    const reply = await alice.api.get('/v1/inbox', { origin: EVIL });
    expect(reply.status).toBe(200); // the server cannot tell a browser's request; the browser enforces
    expect(reply.headers.get('access-control-allow-origin')).toBeNull();
    expect(reply.headers.get('access-control-allow-credentials')).toBeNull();
    expect(reply.headers.get('vary')).toContain('Origin');
  });
});

describe('configuration', () => {
  test('takes exact origins only: no wildcard, no path, nothing but http(s)', () => {
    expect(loadConfig({}).cors.origins).toEqual([]);
    expect(loadConfig({ SWITCHYARD_CORS_ORIGINS: 'https://a.example, http://localhost:5173,https://a.example' }).cors.origins)
      .toEqual(['https://a.example', 'http://localhost:5173']);
    for (const bad of ['*', 'https://a.example/', 'https://a.example/app', 'a.example', 'ftp://a.example', 'https://*.example']) {
      expect(() => loadConfig({ SWITCHYARD_CORS_ORIGINS: bad }), bad).toThrow(/SWITCHYARD_CORS_ORIGINS/);
    }
  });
});
