// The dashboard over HTTP: the page and its assets, the login that trades the admin token for a
// session cookie and what that cookie may open, and the live numbers (snapshot, stream, queues).
// test/dashboard.browser.test.ts drives the same page in a real browser.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AdminSessions, ADMIN_SESSION_COOKIE } from '../src/auth/admin-session.ts';
import { hashToken } from '../src/auth/tokens.ts';
import { runningWorkers } from '../src/queue/worker.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from './helpers/factories.ts';
import { expectProblem } from './helpers/problems.ts';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from './helpers/service.ts';
import { openEventStream } from './helpers/sse.ts';

let database: TestDatabase;
let service: TestService;
let sender: TestClient;
let sink: TestClient; // listens to topic:dash and never receives, so its queue grows

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_ROLES: 'router,routing,persistence,analytics,push,upkeep',
  }, { delivery: { statsMs: 100 }, dashboard: { pushMs: 200 }, metrics: { cacheMs: 200 } }); // the dashboard shows the operators' snapshot, taken at most every metrics.cacheMs
  sender = await registerClient(service.admin, 'sender');
  sink = await registerClient(service.admin, 'sink', ['topic:dash']);
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

async function login(token = TEST_ADMIN_TOKEN) {
  return fetch(`${service.url}/dashboard/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
}

/** The Cookie header a browser would send after logging in. */
async function sessionCookie(): Promise<string> {
  const response = await login();
  expect(response.status).toBe(200);
  return response.headers.get('set-cookie')!.split(';')[0]!;
}


describe('the page', () => {
  test('GET /dashboard is the page, allowed to load only its own resources, and never cached', async () => {
    const response = await fetch(`${service.url}/dashboard`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await response.text();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // no CDN, no external fonts
    const assets = [...html.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual(expect.arrayContaining(['/dashboard/assets/uPlot.iife.min.js', '/dashboard/assets/uPlot.min.css', '/dashboard/assets/dashboard.js']));
    for (const path of assets) {
      const asset = await fetch(service.url + path);
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get('content-type'), path).toMatch(/^text\/(javascript|css)/);
      expect(asset.headers.get('etag'), path).toBeTruthy();
      const again = await fetch(service.url + path, { headers: { 'if-none-match': asset.headers.get('etag')! } });
      expect(again.status, path).toBe(304);
    }
    expect(await (await fetch(`${service.url}/dashboard/assets/uPlot.iife.min.js`)).text()).toContain('uPlot');
  });

  test('an unknown asset is a 404 problem', async () => {
    expectProblem(await service.anonymous.get('/dashboard/assets/secrets.js'), 404, 'NotFound');
    expectProblem(await service.anonymous.get('/dashboard/assets/index.html'), 404, 'NotFound');
  });
});

describe('logging in', () => {
  test('a wrong token is 401, a client token 403, and neither gets a cookie', async () => {
    for (const [token, status, code] of [['sy_wrong', 401, 'TokenInvalid'], [sender.token, 403, 'Forbidden']] as const) {
      const response = await login(token);
      expect(response.headers.get('set-cookie')).toBeNull();
      expectProblem({ status: response.status, headers: response.headers, body: await response.json() }, status, code);
    }
    expectProblem(await service.anonymous.post('/dashboard/session', { token: TEST_ADMIN_TOKEN, extra: 1 }), 400, 'ValidationFailed');
    expectProblem(await service.anonymous.raw('POST', '/dashboard/session', `token=${TEST_ADMIN_TOKEN}`, { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UnsupportedMediaType');
  });

  test('the admin token gets an HttpOnly, SameSite=Strict session cookie that is not the token', async () => {
    const response = await login();
    expect(response.status).toBe(200);
    const cookie = response.headers.get('set-cookie')!;
    expect(cookie).toMatch(new RegExp(`^${ADMIN_SESSION_COOKIE}=v1\\.\\d+\\.[A-Za-z0-9_-]{43};`));
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(cookie).toContain(`Max-Age=${12 * 3600}`);
    expect(cookie).not.toContain('Secure'); // plain http here; behind an https proxy it is Secure
    expect(cookie).not.toContain(TEST_ADMIN_TOKEN);
    const { expires_at } = (await response.json()) as { expires_at: string };
    expect(Date.parse(expires_at) - Date.now()).toBeGreaterThan(11.9 * 3600_000);

    const proxied = await fetch(`${service.url}/dashboard/session`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' }, body: JSON.stringify({ token: TEST_ADMIN_TOKEN }),
    });
    expect(proxied.headers.get('set-cookie')).toContain('Secure');
  });

  test('the session opens the dashboard data, the dead-letter list and redrive, and nothing else', async () => {
    const cookie = await sessionCookie();
    const as = (method: string, path: string, body?: unknown) =>
      service.anonymous.raw(method, path, body === undefined ? undefined : JSON.stringify(body), { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) });
    for (const path of ['/v1/admin/dashboard/snapshot', '/v1/admin/dashboard/queues', '/v1/admin/dead-letters', '/v1/admin/classifier',
      '/v1/admin/anomalies', '/v1/admin/anomalies/band?address=topic:news']) {
      expect((await as('GET', path)).status, path).toBe(200);
    }
    expect((await as('POST', '/v1/admin/dead-letters/redrive', { client_id: '999999' })).status).toBe(200);
    // Destructive or unrelated admin routes still want the token.
    expectProblem(await as('POST', '/v1/admin/dead-letters/purge', { client_id: '999999' }), 401, 'TokenMissing');
    expectProblem(await as('GET', '/v1/admin/analytics'), 401, 'TokenMissing');
    expectProblem(await as('PUT', '/v1/admin/topics/news/classifier', {}), 401, 'TokenMissing');
    expectProblem(await as('POST', '/v1/admin/classifier/labels', { labels: [] }), 401, 'TokenMissing');
    expectProblem(await as('GET', `/v1/admin/clients/${sender.id}`), 401, 'TokenMissing');
    expectProblem(await as('POST', '/v1/clients', { name: 'sneaky' }), 401, 'TokenMissing');
    // A bearer token wins over the cookie: a client's token stays a client's.
    expectProblem(await service.anonymous.get('/v1/admin/dashboard/snapshot', { cookie, authorization: `Bearer ${sender.token}` }), 403, 'Forbidden');
  });

  test('the session works only from pages of this service, and a forged or expired one is refused', async () => {
    const cookie = await sessionCookie();
    const get = (headers: Record<string, string>) => service.anonymous.get('/v1/admin/dashboard/snapshot', { cookie, ...headers });
    expect((await get({ origin: service.url, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expectProblem(await get({ origin: 'https://app.example.com' }), 403, 'Forbidden');
    expectProblem(await get({ 'sec-fetch-site': 'same-site' }), 403, 'Forbidden');
    expectProblem(await get({ 'sec-fetch-site': 'cross-site' }), 403, 'Forbidden');
    expectProblem(await get({ origin: 'null' }), 403, 'Forbidden');

    const [name, value] = cookie.split('=') as [string, string];
    const forged = value.replace(/^v1\.\d+\./, `v1.${Math.floor(Date.now() / 1000) + 10 * 365 * 86400}.`);
    expectProblem(await service.anonymous.get('/v1/admin/dashboard/snapshot', { cookie: `${name}=${forged}` }), 401, 'TokenInvalid');
    const expired = (await sessions(-1)).value;
    expectProblem(await service.anonymous.get('/v1/admin/dashboard/snapshot', { cookie: `${name}=${expired}` }), 401, 'TokenInvalid');
  });

  test('logging out clears the cookie', async () => {
    const response = await fetch(`${service.url}/dashboard/session`, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(response.headers.get('set-cookie')).toMatch(new RegExp(`^${ADMIN_SESSION_COOKIE}=;.*Max-Age=0`));
  });
});

describe('admin sessions', () => {
  const key = Buffer.alloc(32, 7);
  const tokenHash = hashToken('admin-token-of-this-service-0123456789');

  test('a session verifies until it expires, and only with the same key and admin token', () => {
    const sessions = new AdminSessions(key, tokenHash, 60_000);
    const { value, expiresAt } = sessions.issue(1_000_000);
    expect(sessions.verify(value, 1_000_000)).toBe(expiresAt.getTime());
    expect(sessions.verify(value, expiresAt.getTime())).toBeUndefined();
    expect(new AdminSessions(Buffer.alloc(32, 8), tokenHash, 60_000).verify(value, 1_000_000)).toBeUndefined();
    // Rotating the admin token ends every session.
    expect(new AdminSessions(key, hashToken('another-admin-token-0123456789abcdef'), 60_000).verify(value, 1_000_000)).toBeUndefined();
    for (const bad of [undefined, '', 'v1', 'v1.1.x', `v2${value.slice(2)}`, `${value}x`]) expect(sessions.verify(bad, 1_000_000)).toBeUndefined();
  });
});

/** A session signed the way this service signs them, ending `seconds` from now. */
async function sessions(seconds: number) {
  const row = await sql<{ value: string }>`select value from switchyard_secret.setting where key = 'admin_session_key'`.execute(database.db);
  const key = Buffer.from(row.rows[0]!.value, 'hex');
  return new AdminSessions(key, hashToken(TEST_ADMIN_TOKEN), seconds * 1000).issue();
}

describe('the live numbers', () => {
  test('a snapshot has queue totals, the oldest age, throughput, stage lag and dead letters', async () => {
    for (let i = 0; i < 5; i++) await publish(sender, { to: 'topic:dash', payload: { i } });
    const snapshot = await eventually(async () => {
      const reply = await service.admin.get('/v1/admin/dashboard/snapshot');
      expect(reply.status).toBe(200);
      return reply.body.queues.depth >= 5 && reply.body.throughput.published_per_second > 0 ? reply.body : undefined;
    }, 15_000, 'five messages waiting and a publish rate');
    expect(snapshot).toMatchObject({
      at: expect.any(String),
      queues: { queues: 1, depth: 5, visible: 5, in_flight: 0, delayed: 0, oldest_age_seconds: expect.any(Number), counted_at: expect.any(String) },
      throughput: { window_seconds: expect.any(Number) },
      dead_letters: { clients: 0, stages: 0, by_reason: {} },
    });
    expect(snapshot.stages.map((s: { stage: string }) => s.stage)).toEqual(['analytics', 'persistence', 'routing']);
    expect(snapshot.stages[0]).toMatchObject({ lag_seconds: expect.any(Number), rows_behind: expect.any(Number), rows_capped: false });
  });

  test('the queues table has every client, what it listens to, its counts and its dead letters', async () => {
    const reply = await service.admin.get('/v1/admin/dashboard/queues');
    expect(reply.status).toBe(200);
    const byName = Object.fromEntries(reply.body.queues.map((q: { client_name: string }) => [q.client_name, q]));
    expect(byName.sink).toMatchObject({ client_id: sink.id, listen_to: ['topic:dash', 'user:sink'], depth: 5, dead_letters: 0, oldest_enqueued_at: expect.any(String) });
    expect(byName.sender).toMatchObject({ listen_to: ['user:sender'], depth: 0, oldest_enqueued_at: null });
    expect(reply.body.queues[0].client_name).toBe('sink'); // the deepest first
    expectProblem(await service.admin.get('/v1/admin/dashboard/queues?limit=0'), 400, 'ValidationFailed', 'limit');
  });

  test('the stream sends a snapshot at once and then every interval, and lets the sampler go when the reader leaves', async () => {
    const stream = await openEventStream(`${service.url}/v1/admin/dashboard/stream`, { token: TEST_ADMIN_TOKEN });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const first = await stream.next(3_000);
    const second = await stream.next(3_000);
    expect(first?.event).toBe('snapshot');
    expect(second?.event).toBe('snapshot');
    expect(Date.parse(JSON.parse(second!.data).at)).toBeGreaterThan(Date.parse(JSON.parse(first!.data).at));
    expect(stream.retry).toBeGreaterThan(0);
    expect(runningWorkers()).toContain('dashboard:feed');
    stream.close();
    await eventually(async () => (runningWorkers().includes('dashboard:feed') ? undefined : true), 5_000, 'the sampler to stop');
  });

  test('a stream opened with a session ends with event: closed when the session does', async () => {
    const { value } = await sessions(1.5);
    const stream = await openEventStream(`${service.url}/v1/admin/dashboard/stream`, { headers: { cookie: `${ADMIN_SESSION_COOKIE}=${value}` } });
    expect(stream.status).toBe(200);
    expect((await stream.next(3_000))?.event).toBe('snapshot');
    let last;
    for (let event = await stream.next(4_000); event; event = await stream.next(4_000)) last = event;
    expect(last).toMatchObject({ event: 'closed', data: expect.stringContaining('TokenInvalid') });
    expect(stream.ended).toBe(true);
  });

  test('open streams end when the service shuts down', async () => {
    const stream = await openEventStream(`${service.url}/v1/admin/dashboard/stream`, { token: TEST_ADMIN_TOKEN });
    expect((await stream.next(3_000))?.event).toBe('snapshot');
    const started = Date.now();
    await service.stop();
    await eventually(async () => (stream.ended ? true : undefined), 5_000, 'the stream to end');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(runningWorkers()).not.toContain('dashboard:feed');
  });
});
