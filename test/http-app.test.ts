// The HTTP shell every route shares: unexpected errors are 500s that carry a request id and keep
// their details in the log; unknown routes are 404 and known routes with another method 405 with
// Allow, all problem+json; no CORS unless origins are configured.
import { describe, expect, test } from 'vitest';
import { createApp } from '../src/http/app.ts';
import { createRouter } from '../src/http/openapi.ts';
import { createLogger } from '../src/logger.ts';

function appWithRoutes(lines: string[] = [], corsOrigins: string[] = []) {
  const app = createApp({ log: createLogger('debug', {}, (line) => lines.push(line) > 0), maxBodyBytes: 1024, corsOrigins });
  const routes = createRouter();
  routes.get('/things', (c) => c.json({ things: [] }));
  routes.post('/things', (c) => c.json({ created: true }, 201));
  routes.get('/unreachable', () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  });
  routes.get('/boom', () => {
    throw new Error('secret detail: password=hunter2');
  });
  app.route('/v1', routes);
  return app;
}

async function problem(response: Response) {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await response.json()) as { status: number; code: string; detail: string; request_id: string };
}

describe('errors', () => {
  test('an unexpected error is a 500 with a request id; its details go to the log only', async () => {
    const lines: string[] = [];
    const response = await appWithRoutes(lines).request('/v1/boom');
    expect(response.status).toBe(500);
    const body = await problem(response);
    expect(body.code).toBe('InternalError');
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.detail).toContain(body.request_id);
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(response.headers.get('x-request-id')).toBe(body.request_id);
    const errors = lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === 'error');
    expect(errors).toHaveLength(1); // one line per failure, the error in it
    expect(errors[0]).toMatchObject({ msg: 'request failed', request_id: body.request_id, status: 500, error: { message: 'secret detail: password=hunter2' } });
  });

  test('a database that cannot be reached is a 503 DatabaseUnavailable with Retry-After, logged once per storm', async () => {
    const lines: string[] = [];
    const app = appWithRoutes(lines);
    const answers = await Promise.all(Array.from({ length: 20 }, () => app.request('/v1/unreachable')));
    for (const response of answers) {
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect((await problem(response)).code).toBe('DatabaseUnavailable');
    }
    const logged = lines.map((line) => JSON.parse(line)).filter((entry) => entry.level !== 'debug');
    expect(logged).toEqual([expect.objectContaining({ level: 'warn', msg: 'database unreachable: answering 503' })]);
  });

  test('an unknown route is 404 RouteNotFound', async () => {
    const response = await appWithRoutes().request('/v1/nothing');
    expect(response.status).toBe(404);
    expect((await problem(response)).code).toBe('RouteNotFound');
  });

  test('a known route with another method is 405 MethodNotAllowed naming the allowed ones in Allow', async () => {
    const response = await appWithRoutes().request('/v1/things', { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect((await problem(response)).code).toBe('MethodNotAllowed');
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST');
  });
});

describe('CORS by default', () => {
  test('no origin is allowed: a preflight is 403 and answers carry no CORS header', async () => {
    const app = appWithRoutes();
    const pre = await app.request('/v1/things', { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } });
    expect(pre.status).toBe(403);
    expect((await problem(pre)).code).toBe('OriginNotAllowed');
    const get = await app.request('/v1/things', { headers: { origin: 'https://app.example.com' } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    expect(get.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
