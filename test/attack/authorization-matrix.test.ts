// Every endpoint against every kind of caller: no token, a malformed token, a revoked token, the
// admin, a client with the rights the endpoint needs (member: of group eng, granted on
// topic:restricted), a client without them (outsider), and another client with the same rights
// trying to reach the first one's data (other). Operations endpoints (/metrics, /healthz, ...) are
// open: every caller gets them. Adding an endpoint is one line in ENDPOINTS. Every field that names
// an address (to, reply_to, listen_to entries, a history conversation, the analytics address) has
// rows naming a group, a restricted topic and another user's address, which the outsider (and for
// mia's own address, "other" too) must be refused.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../helpers/factories.ts';
import type { Reply } from '../helpers/http.ts';
import { expectProblem } from '../helpers/problems.ts';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let member: TestClient; // mia: member of eng, granted on topic:restricted
let other: TestClient; // olga: the same rights as mia, and nothing of mia's is hers
let outsider: TestClient; // nick: no group, no grant
let revokedToken: string;
let counter = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
  for (const user of ['mia', 'olga']) expect((await service.admin.put(`/v1/admin/groups/eng/members/${user}`)).status).toBe(200);
  const grants = { publish: ['mia', 'olga'], subscribe: ['mi*', 'olga'] };
  expect((await service.admin.put('/v1/admin/topics/restricted/policy', grants)).status).toBe(200);
  expect((await service.admin.put('/v1/admin/topics/shaped/schema', { type: 'object' })).status).toBe(200);
  expect((await service.admin.put('/v1/admin/routing-rules/seeded', { match: { type: ['x'] }, to: ['topic:restricted'] })).status).toBe(200);
  member = await registerClient(service.admin, 'mia', ['group:eng', 'topic:restricted']);
  other = await registerClient(service.admin, 'olga', ['group:eng', 'topic:restricted']);
  outsider = await registerClient(service.admin, 'nick', ['topic:news']);
  const rex = await registerClient(service.admin, 'rex');
  expect((await service.admin.post(`/v1/admin/clients/${rex.id}/revoke`)).status).toBe(200);
  revokedToken = rex.token;
  // Something private of mia's in history, for "other" to fail to read.
  await publish(outsider, { to: 'user:mia', payload: 'for mia only' });
  await eventually(async () => {
    const reply = await member.api.get('/v1/history?conversation=user:nick');
    return reply.body.messages?.length > 0 ? true : undefined;
  }, 10_000, "mia's direct message in history");
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

// ---------------------------------------------------------------------------------------------
// Fixtures the endpoints ask for.

const fixtures = {
  uniqueName: () => `c${Date.now().toString(36)}${counter++}`,
  /** A fresh client for the admin endpoints that change one. */
  throwaway: async () => (await registerClient(service.admin, fixtures.uniqueName())).id,
  /** A fresh client with a webhook endpoint, registered by the admin. */
  throwawayWithWebhook: async () => {
    const id = await fixtures.throwaway();
    expect((await service.admin.put(`/v1/admin/clients/${id}/webhook`, { url: 'https://hooks.example.com/in' })).status).toBe(201);
    return id;
  },
  /** A receipt for a delivery in mia's queue, taken by mia. */
  receiptOfMember: async () => {
    const id = await publish(outsider, { to: 'user:mia', payload: `receipt ${counter++}` });
    return eventually(async () => {
      const reply = await member.api.get('/v1/inbox?wait=1&max=100');
      return (reply.body.messages as { id: string; receipt: string }[]).find((m) => m.id === id)?.receipt;
    }, 10_000, 'a receipt for mia');
  },
};

type Fixtures = typeof fixtures;

// ---------------------------------------------------------------------------------------------
// The endpoints.

interface Endpoint {
  method: string;
  path: string | ((f: Fixtures) => Promise<string>);
  access: 'admin' | 'client' | 'open';
  /** Tells rows with the same method and path apart in the test names. */
  note?: string;
  body?: (f: Fixtures) => unknown;
  /** What the outsider gets; a 2xx when absent. */
  outsider?: { status: number; code: string };
  /** What "other" gets, when the field names something of mia's alone (her user address). */
  other?: { status: number; code: string };
  /** What a caller with the rights gets, when that is not a 2xx (a request nobody answers). */
  granted?: { status: number; code: string };
  /** Checks, after "other" succeeded, that nothing of mia's was reached. */
  otherReachedNothing?: (reply: Reply, sent: unknown) => Promise<void>;
}

const client = (method: string, path: Endpoint['path'], o: Omit<Endpoint, 'method' | 'path' | 'access'> = {}): Endpoint => ({ method, path, access: 'client', ...o });
const admin = (method: string, path: Endpoint['path'], o: Omit<Endpoint, 'method' | 'path' | 'access'> = {}): Endpoint => ({ method, path, access: 'admin', ...o });
const open = (method: string, path: Endpoint['path'], o: Omit<Endpoint, 'method' | 'path' | 'access'> = {}): Endpoint => ({ method, path, access: 'open', ...o });
/** reply_to naming a group, a restricted topic and mia's own address: only those who may listen to it may name it. */
const replyToRows = (method: string, path: string, body: (replyTo: string) => unknown, o: Omit<Endpoint, 'method' | 'path' | 'access'> = {}): Endpoint[] => [
  client(method, path, { ...o, note: 'reply_to a group', body: () => body('group:eng'), outsider: { status: 403, code: 'ReplyToForbidden' } }),
  client(method, path, { ...o, note: 'reply_to a restricted topic', body: () => body('topic:restricted'), outsider: { status: 403, code: 'ReplyToForbidden' } }),
  client(method, path, {
    ...o, note: "reply_to mia's user address", body: () => body('user:mia'),
    outsider: { status: 403, code: 'ReplyToForbidden' }, other: { status: 403, code: 'ReplyToForbidden' },
  }),
];
const withThrowaway = (suffix: string) => async (f: Fixtures) => `/v1/admin/clients/${await f.throwaway()}${suffix}`;
const withWebhook = (suffix: string) => async (f: Fixtures) => `/v1/admin/clients/${await f.throwawayWithWebhook()}${suffix}`;
const webhookBody = () => ({ url: 'https://hooks.example.com/in' });

const ENDPOINTS: Endpoint[] = [
  client('GET', '/v1/clients/me'),
  client('PUT', '/v1/clients/me/listen-to', { note: 'a group', body: () => ({ listen_to: ['group:eng'] }), outsider: { status: 403, code: 'ListenToForbidden' } }),
  client('PUT', '/v1/clients/me/listen-to', { note: 'a restricted topic', body: () => ({ listen_to: ['topic:restricted'] }), outsider: { status: 403, code: 'ListenToForbidden' } }),
  client('PUT', '/v1/clients/me/listen-to', {
    note: "mia's user address", body: () => ({ listen_to: ['user:mia'] }),
    outsider: { status: 403, code: 'ListenToForbidden' }, other: { status: 403, code: 'ListenToForbidden' },
  }),
  client('POST', '/v1/messages', { note: 'to a group', body: () => ({ to: 'group:eng', payload: 1 }), outsider: { status: 403, code: 'NotAGroupMember' } }),
  client('POST', '/v1/messages', { note: 'to a restricted topic', body: () => ({ to: 'topic:restricted', payload: 1 }), outsider: { status: 403, code: 'TopicPublishForbidden' } }),
  client('POST', '/v1/messages/batch', { body: () => ({ messages: [{ to: 'topic:news', payload: 1 }, { to: 'group:eng', payload: 2 }] }), outsider: { status: 403, code: 'NotAGroupMember' } }),
  ...replyToRows('POST', '/v1/messages', (replyTo) => ({ to: 'topic:news', payload: 1, reply_to: replyTo })),
  ...replyToRows('POST', '/v1/messages/batch', (replyTo) => ({ messages: [{ to: 'topic:news', payload: 1 }, { to: 'topic:news', payload: 2, reply_to: replyTo }] })),
  client('GET', '/v1/inbox', { otherReachedNothing: async (reply) => expect(reply.body.messages.filter((m: { to: string }) => m.to === 'user:mia')).toEqual([]) }),
  client('POST', '/v1/inbox/ack', {
    body: async (f) => ({ receipts: [await f.receiptOfMember()] }),
    otherReachedNothing: async (reply, sent) => {
      const [receipt] = (sent as { receipts: string[] }).receipts;
      expect(reply.body).toEqual({ acked: 0, not_acked: [receipt] });
      const still = await sql<{ n: number }>`
        select count(*)::int as n from switchyard.delivery where client_id = ${member.id} and message_id = ${receipt!.split('.')[0]}::uuid`.execute(database.db);
      expect(still.rows[0]!.n).toBe(1);
    },
  }),
  client('POST', '/v1/inbox/nack', {
    body: async (f) => ({ receipts: [await f.receiptOfMember()], delay_seconds: 0 }),
    otherReachedNothing: async (reply, sent) => expect(reply.body.not_nacked).toEqual((sent as { receipts: string[] }).receipts),
  }),
  client('POST', '/v1/inbox/extend', {
    body: async (f) => ({ receipts: [await f.receiptOfMember()], visibility: 1 }),
    otherReachedNothing: async (reply, sent) => expect(reply.body.not_extended).toEqual((sent as { receipts: string[] }).receipts),
  }),
  client('GET', '/v1/inbox/dead-letters', {
    otherReachedNothing: async (reply) => expect(reply.body.dead_letters.filter((d: { client_name: string }) => d.client_name !== 'olga')).toEqual([]),
  }),
  client('POST', '/v1/inbox/dead-letters/redrive', { body: () => ({}) }),
  client('POST', '/v1/requests', {
    body: () => ({ to: 'group:eng', payload: 'anyone?', timeout_seconds: 0.1 }),
    granted: { status: 504, code: 'ReplyTimeout' },
    outsider: { status: 403, code: 'NotAGroupMember' },
  }),
  ...replyToRows('POST', '/v1/requests', (replyTo) => ({ to: 'topic:news', payload: 'anyone?', reply_to: replyTo, timeout_seconds: 0.1 }), {
    granted: { status: 504, code: 'ReplyTimeout' },
  }),
  client('GET', '/v1/inbox/stream'),
  // A plain GET with rights reaches the route, which speaks WebSocket only (upgrades: test/delivery/websocket.test.ts).
  client('GET', '/v1/inbox/ws', { granted: { status: 426, code: 'UpgradeRequired' }, outsider: { status: 426, code: 'UpgradeRequired' } }),
  client('GET', '/v1/history?conversation=group:eng', { outsider: { status: 403, code: 'NotAGroupMember' } }),
  client('GET', '/v1/history?conversation=topic:restricted', { outsider: { status: 403, code: 'TopicSubscribeForbidden' } }),
  client('GET', '/v1/history?conversation=user:mia', {
    otherReachedNothing: async (reply) => {
      for (const m of reply.body.messages as { from: string; to: string }[]) expect([m.from, m.to]).toContain('user:olga');
    },
  }),
  client('GET', '/v1/history?conversation=user:nick', {
    otherReachedNothing: async (reply) => expect(reply.body.messages.map((m: { payload: unknown }) => m.payload)).not.toContain('for mia only'),
  }),
  admin('POST', '/v1/clients', { body: (f) => ({ name: f.uniqueName() }) }),
  admin('POST', '/v1/clients', { note: 'listening to a group it is not in', body: (f) => ({ name: f.uniqueName(), listen_to: ['group:eng'] }), granted: { status: 403, code: 'ListenToForbidden' } }),
  admin('POST', '/v1/clients', { note: "listening to another's user address", body: (f) => ({ name: f.uniqueName(), listen_to: ['user:mia'] }), granted: { status: 403, code: 'ListenToForbidden' } }),
  admin('GET', withThrowaway(''), { note: '/v1/admin/clients/{id}' }),
  admin('POST', withThrowaway('/rotate'), { note: '/v1/admin/clients/{id}/rotate' }),
  admin('POST', withThrowaway('/revoke'), { note: '/v1/admin/clients/{id}/revoke' }),
  admin('GET', '/v1/admin/groups/eng/members'),
  admin('PUT', '/v1/admin/groups/scratch/members/zed'),
  admin('DELETE', '/v1/admin/groups/scratch/members/zed'),
  admin('GET', '/v1/admin/topics/restricted/policy'),
  admin('PUT', '/v1/admin/topics/scratch/policy', { body: () => ({ publish: ['mia'] }) }),
  admin('DELETE', '/v1/admin/topics/scratch/policy'),
  admin('GET', '/v1/admin/topics/shaped/schema'),
  admin('PUT', '/v1/admin/topics/scratch/schema', { body: () => ({ type: 'object' }) }),
  admin('DELETE', '/v1/admin/topics/scratch/schema'),
  admin('GET', '/v1/admin/routing-rules'),
  admin('GET', '/v1/admin/routing-rules/seeded'),
  admin('PUT', '/v1/admin/routing-rules/scratch', { body: () => ({ match: { type: ['x'] }, to: ['group:eng'] }) }),
  admin('DELETE', '/v1/admin/routing-rules/scratch'),
  admin('GET', '/v1/admin/analytics'),
  admin('GET', '/v1/admin/anomalies'),
  admin('GET', '/v1/admin/anomalies/band?address=topic:restricted'),
  admin('GET', '/v1/admin/topics/restricted/classifier', { granted: { status: 404, code: 'NotFound' } }),
  admin('PUT', '/v1/admin/topics/scratch/classifier', { body: () => ({ threshold: 0.95 }) }),
  admin('DELETE', '/v1/admin/topics/scratch/classifier'),
  admin('POST', '/v1/admin/classifier/labels', {
    body: () => ({ labels: [{ message_id: '00000000-0000-7000-8000-000000000000', label: 'spam' }] }), granted: { status: 404, code: 'NotFound' },
  }),
  admin('GET', '/v1/admin/classifier'),
  admin('GET', '/v1/admin/analytics?address=user:mia', { note: 'of one address' }),
  admin('GET', '/v1/admin/dead-letters'),
  admin('POST', '/v1/admin/dead-letters/redrive', { body: () => ({ client_id: '999999' }) }),
  admin('POST', '/v1/admin/dead-letters/purge', { body: () => ({ client_id: '999999' }) }),
  admin('GET', withThrowaway('/queue-policy'), { note: '/v1/admin/clients/{id}/queue-policy' }),
  admin('PUT', withThrowaway('/queue-policy'), { note: '/v1/admin/clients/{id}/queue-policy', body: () => ({ max_receives: 5 }) }),
  // Webhooks: each client registers its own first, then reads, rotates and removes it.
  client('PUT', '/v1/clients/me/webhook', { body: webhookBody }),
  client('GET', '/v1/clients/me/webhook'),
  client('POST', '/v1/clients/me/webhook/rotate-secret', { body: () => ({}) }),
  client('DELETE', '/v1/clients/me/webhook'),
  admin('PUT', withThrowaway('/webhook'), { note: '/v1/admin/clients/{id}/webhook', body: webhookBody }),
  admin('GET', withWebhook('/webhook'), { note: '/v1/admin/clients/{id}/webhook' }),
  admin('POST', withWebhook('/webhook/rotate-secret'), { note: '/v1/admin/clients/{id}/webhook/rotate-secret', body: () => ({ overlap_seconds: 0 }) }),
  admin('DELETE', withWebhook('/webhook'), { note: '/v1/admin/clients/{id}/webhook' }),
  admin('GET', '/v1/admin/dashboard/snapshot'),
  admin('GET', '/v1/admin/dashboard/stream'),
  admin('GET', '/v1/admin/dashboard/queues'),
  admin('GET', '/v1/admin/scaling'),
  admin('GET', '/v1/admin/stages/routing/dead-letters'),
  admin('POST', '/v1/admin/stages/routing/dead-letters/redrive', { body: () => ({ message_ids: ['00000000-0000-7000-8000-000000000000'] }) }),
  open('GET', '/metrics'),
  open('GET', '/healthz'),
  open('GET', '/readyz'),
  open('GET', '/openapi.json'),
  open('GET', '/docs'),
  open('GET', '/docs/docs.js'),
  // The dashboard: the page is public; its login takes the admin token in the body, whoever calls.
  open('GET', '/dashboard'),
  open('GET', '/dashboard/assets/dashboard.js'),
  open('POST', '/dashboard/session', { body: () => ({ token: TEST_ADMIN_TOKEN }) }),
  open('DELETE', '/dashboard/session'),
];

// ---------------------------------------------------------------------------------------------
// The callers, and what each gets.

type Caller = 'no token' | 'malformed token' | 'revoked token' | 'admin' | 'member' | 'outsider' | 'other';
const CALLERS: Caller[] = ['no token', 'malformed token', 'revoked token', 'admin', 'member', 'outsider', 'other'];

function authorization(caller: Caller): string | undefined {
  switch (caller) {
    case 'no token': return undefined;
    case 'malformed token': return 'Bearer';
    case 'revoked token': return `Bearer ${revokedToken}`;
    case 'admin': return `Bearer ${TEST_ADMIN_TOKEN}`;
    case 'member': return `Bearer ${member.token}`;
    case 'outsider': return `Bearer ${outsider.token}`;
    case 'other': return `Bearer ${other.token}`;
  }
}

function expected(endpoint: Endpoint, caller: Caller): { status: number; code: string } | 'success' {
  if (endpoint.access === 'open') return 'success';
  if (caller === 'no token') return { status: 401, code: 'TokenMissing' };
  if (caller === 'malformed token' || caller === 'revoked token') return { status: 401, code: 'TokenInvalid' };
  const isAdmin = caller === 'admin';
  if ((endpoint.access === 'admin') !== isAdmin) return { status: 403, code: 'Forbidden' };
  if (caller === 'outsider' && endpoint.outsider) return endpoint.outsider;
  if (caller === 'other' && endpoint.other) return endpoint.other;
  return endpoint.granted ?? 'success';
}

/** Sends the request; an event stream is closed as soon as its status is known. */
async function send(endpoint: Endpoint, caller: Caller): Promise<{ reply: Reply; sent: unknown }> {
  const path = typeof endpoint.path === 'string' ? endpoint.path : await endpoint.path(fixtures);
  const sent = endpoint.body ? await endpoint.body(fixtures) : undefined;
  const auth = authorization(caller);
  const abort = new AbortController();
  const response = await fetch(service.url + path, {
    method: endpoint.method,
    headers: { ...(auth ? { authorization: auth } : {}), ...(sent === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(sent === undefined ? {} : { body: JSON.stringify(sent) }),
    signal: abort.signal,
  });
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    abort.abort();
    return { reply: { status: response.status, headers: response.headers, body: undefined }, sent };
  }
  const text = await response.text();
  const json = /json/.test(response.headers.get('content-type') ?? '');
  return { reply: { status: response.status, headers: response.headers, body: text && json ? JSON.parse(text) : text || undefined }, sent };
}

const label = (e: Endpoint) => `${e.method} ${typeof e.path === 'string' ? e.path : ''}${e.note ? ` ${e.note}` : ''}`;

describe.each(ENDPOINTS.map((endpoint) => ({ endpoint, name: label(endpoint) })))(
  '$name',
  ({ endpoint }) => {
    test.each(CALLERS)('%s', async (caller) => {
      const { reply, sent } = await send(endpoint, caller);
      const want = expected(endpoint, caller);
      if (want === 'success') {
        expect(reply.status, JSON.stringify(reply.body)).toBeGreaterThanOrEqual(200);
        expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(300);
        if (caller === 'other') await endpoint.otherReachedNothing?.(reply, sent);
      } else {
        expectProblem(reply, want.status, want.code);
      }
    });
  },
);

test('the matrix covers every operation in /openapi.json', async () => {
  const doc = await service.anonymous.get('/openapi.json');
  expect(doc.status).toBe(200);
  const operations = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)
    .flatMap(([template, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), template })));
  expect(operations.length).toBeGreaterThan(20);
  const concrete = (e: Endpoint) => (typeof e.path === 'string' ? e.path.split('?')[0]! : e.note!);
  const missing = operations.filter(({ method, template }) => {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    return !ENDPOINTS.some((e) => e.method === method && pattern.test(concrete(e)));
  });
  expect(missing).toEqual([]);
});
