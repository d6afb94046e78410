// /openapi.json describes the service as it runs: every route the app answers is in the document
// and every operation in the document is a route; and real answers of every operation, successes
// and problems, have a documented status and content type, and their JSON bodies validate against
// the documented schemas (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses).
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, registerClient, type TestClient } from './helpers/factories.ts';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from './helpers/service.ts';

const addFormats = addFormatsModule.default;

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
}

let database: TestDatabase;
let service: TestService;
let doc: Document;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
/** "GET /v1/admin/clients/{id}" -> statuses seen and validated. */
const checked = new Map<string, Set<number>>();

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
  doc = (await service.anonymous.get('/openapi.json')).body;
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

const operations = () => Object.entries(doc.paths).flatMap(([template, methods]) =>
  Object.keys(methods).map((method) => ({ method: method.toUpperCase(), template })));

function findOperation(method: string, path: string): { key: string; operation: Operation } {
  const bare = path.split('?')[0]!;
  for (const [template, methods] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    const operation = methods[method.toLowerCase()];
    if (operation && pattern.test(bare)) return { key: `${method} ${template}`, operation };
  }
  throw new Error(`${method} ${bare} is in no operation of /openapi.json`);
}

/** Sends a request and checks the answer against the document; returns the parsed body. */
async function call(method: string, path: string, o: { token?: string | undefined; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const abort = new AbortController();
  const response = await fetch(service.url + path, {
    method,
    headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
    signal: abort.signal,
  });
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const { key, operation } = findOperation(method, path);
  const documented = operation.responses[String(response.status)];
  expect(documented, `${key} answered ${response.status}, which it does not document`).toBeDefined();
  if (response.status === 204 || response.status === 304) {
    expect(documented!.content, `${key} ${response.status} documents a body`).toBeUndefined();
  } else {
    expect(Object.keys(documented!.content ?? {}), `${key} ${response.status} answered ${type}`).toContain(type);
  }
  let body: any;
  if (response.status === 204 || response.status === 304) {
    // no body to check
  } else if (type === 'text/event-stream') {
    abort.abort(); // the status and type are all a stream's first moment tells
  } else {
    const text = await response.text();
    body = type.endsWith('json') ? JSON.parse(text) : text;
    const schema = documented!.content![type]!.schema;
    if (schema && type.endsWith('json')) {
      const validate = ajv.compile({ ...schema, components: doc.components });
      expect(validate(body), `${key} ${response.status}: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`).toBe(true);
    }
  }
  if (!checked.has(key)) checked.set(key, new Set());
  checked.get(key)!.add(response.status);
  return { status: response.status, body };
}

test('every route the app answers is documented, and every documented operation is a route', () => {
  const routes = service.routes().map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`).sort();
  const documented = operations().map((o) => `${o.method} ${o.template}`).sort();
  expect(routes.length).toBeGreaterThan(35);
  expect(documented).toEqual(routes);
});

test('every schema of messages handed out builds on the one OutgoingMessage schema', () => {
  const schemas = doc.components.schemas as Record<string, unknown>;
  expect(schemas.OutgoingMessage).toBeDefined();
  for (const name of ['InboxMessage', 'HistoryMessage', 'Reply']) {
    expect(JSON.stringify(schemas[name]), name).toContain('"$ref":"#/components/schemas/OutgoingMessage"');
  }
});

test('both publish operations document the optional Idempotency-Key header', () => {
  const parameters = doc.components.parameters as Record<string, { name: string; in: string; required: boolean }>;
  for (const path of ['/v1/messages', '/v1/messages/batch']) {
    const refs = (doc.paths[path]!.post as unknown as { parameters: { $ref: string }[] }).parameters.map((p) => p.$ref.split('/').pop()!);
    expect(refs.map((name) => parameters[name]), path).toContainEqual(expect.objectContaining({ name: 'idempotency-key', in: 'header', required: false }));
  }
});

test('real answers of every operation match their documented status, content type and schema', async () => {
  const admin = TEST_ADMIN_TOKEN;
  // Operations.
  await call('GET', '/healthz');
  await call('GET', '/readyz');
  await call('GET', '/metrics');
  await call('GET', '/docs');
  await call('GET', '/docs/docs.js');
  expect((await call('GET', '/docs/nothing.js')).status).toBe(404);
  await call('GET', '/openapi.json');

  // Clients and the token lifecycle.
  expect((await call('POST', '/v1/clients', { body: { name: 'ann' } })).status).toBe(401);
  expect((await call('POST', '/v1/clients', { token: admin, body: { name: 'not a name!' } })).status).toBe(400);
  const ann: TestClient = await registerClient(service.admin, 'ann', ['topic:news']);
  const bob = (await call('POST', '/v1/clients', { token: admin, body: { name: 'bob', listen_to: [] } })).body as { id: string; token: string };
  await call('GET', '/v1/clients/me', { token: ann.token });
  await call('PUT', '/v1/clients/me/listen-to', { token: ann.token, body: { listen_to: ['topic:news', 'group:eng'] } }); // 403: no member
  await call('GET', `/v1/admin/clients/${ann.id}`, { token: admin });
  expect((await call('GET', '/v1/admin/clients/999999', { token: admin })).status).toBe(404);
  const spare = await registerClient(service.admin, 'spare');
  await call('POST', `/v1/admin/clients/${spare.id}/rotate`, { token: admin });
  await call('POST', `/v1/admin/clients/${spare.id}/revoke`, { token: admin });
  expect((await call('POST', `/v1/admin/clients/${spare.id}/rotate`, { token: admin })).status).toBe(409);

  // Groups and topics.
  await call('PUT', '/v1/admin/groups/eng/members/ann', { token: admin });
  await call('GET', '/v1/admin/groups/eng/members', { token: admin });
  await call('PUT', '/v1/clients/me/listen-to', { token: ann.token, body: { listen_to: ['topic:news', 'group:eng'] } });
  await call('DELETE', '/v1/admin/groups/eng/members/nobody', { token: admin });
  await call('PUT', '/v1/admin/topics/news/policy', { token: admin, body: { publish: ['bob', 'ann'], subscribe: null } });
  await call('GET', '/v1/admin/topics/news/policy', { token: admin });
  await call('DELETE', '/v1/admin/topics/news/policy', { token: admin });
  await call('PUT', '/v1/admin/topics/news/schema', { token: admin, body: { type: 'object' } });
  await call('GET', '/v1/admin/topics/news/schema', { token: admin });
  expect((await call('POST', '/v1/messages', { token: bob.token, body: { to: 'topic:news', payload: 1 } })).status).toBe(422);
  await call('DELETE', '/v1/admin/topics/news/schema', { token: admin });
  expect((await call('GET', '/v1/admin/topics/news/schema', { token: admin })).status).toBe(404);
  await call('PUT', '/v1/admin/topics/news/classifier', { token: admin, body: { json_paths: ['$.text'], threshold: 0.95 } });
  await call('GET', '/v1/admin/topics/news/classifier', { token: admin });
  await call('GET', '/v1/admin/classifier', { token: admin });
  const unknownMessage = { labels: [{ message_id: '00000000-0000-7000-8000-000000000000', label: 'spam' }] };
  expect((await call('POST', '/v1/admin/classifier/labels', { token: admin, body: unknownMessage })).status).toBe(404);

  // Webhook endpoints, the client's own and the admin's view of them.
  const hook = { url: 'https://hooks.example.com/in' };
  expect((await call('PUT', '/v1/clients/me/webhook', { token: bob.token, body: hook })).status).toBe(201);
  expect((await call('PUT', '/v1/clients/me/webhook', { token: bob.token, body: { url: 'http://10.0.0.1/' } })).status).toBe(400);
  await call('GET', '/v1/clients/me/webhook', { token: bob.token });
  await call('POST', '/v1/clients/me/webhook/rotate-secret', { token: bob.token, body: {} });
  await call('DELETE', '/v1/clients/me/webhook', { token: bob.token });
  expect((await call('GET', '/v1/clients/me/webhook', { token: bob.token })).status).toBe(404);
  expect((await call('PUT', `/v1/admin/clients/${bob.id}/webhook`, { token: admin, body: hook })).status).toBe(201);
  await call('PUT', `/v1/admin/clients/${bob.id}/webhook`, { token: admin, body: hook });
  await call('GET', `/v1/admin/clients/${bob.id}/webhook`, { token: admin });
  await call('POST', `/v1/admin/clients/${bob.id}/webhook/rotate-secret`, { token: admin, body: { overlap_seconds: 0 } });
  await call('DELETE', `/v1/admin/clients/${bob.id}/webhook`, { token: admin });

  await call('PUT', '/v1/admin/routing-rules/greetings', { token: admin, body: { match: { type: ['greeting'] }, to: ['user:ann'], on: ['topic:news'] } });
  await call('GET', '/v1/admin/routing-rules', { token: admin });
  await call('GET', '/v1/admin/routing-rules/greetings', { token: admin });
  await call('DELETE', '/v1/admin/routing-rules/greetings', { token: admin });

  // Publishing, receiving and the queue rules.
  await call('PUT', `/v1/admin/clients/${ann.id}/queue-policy`, { token: admin, body: { max_receives: 1 } });
  await call('GET', `/v1/admin/clients/${ann.id}/queue-policy`, { token: admin });
  const greeting = await call('POST', '/v1/messages', { token: bob.token, body: { to: 'topic:news', type: 'greeting', payload: { text: 'hi' }, headers: { a: 'b' } } });
  await call('POST', '/v1/admin/classifier/labels', { token: admin, body: { labels: [{ message_id: greeting.body.id, label: 'ham' }] } });
  await call('DELETE', '/v1/admin/topics/news/classifier', { token: admin });
  await call('POST', '/v1/messages/batch', { token: bob.token, body: { messages: [{ to: 'topic:news', payload: 2 }, { to: 'topic:news', payload: 3 }] } });
  expect((await call('POST', '/v1/messages', { token: bob.token, body: { to: 'nowhere' } })).status).toBe(400);
  // Routing may hand them over in more than one batch, and a receive leases what it returns: collect.
  const messages: { receipt: string }[] = [];
  await eventually(async () => {
    const reply = await call('GET', '/v1/inbox?wait=1&max=10', { token: ann.token });
    messages.push(...(reply.body.messages as { receipt: string }[]));
    return messages.length === 3 ? true : undefined;
  }, 10_000, 'three messages for ann');
  await call('POST', '/v1/inbox/extend', { token: ann.token, body: { receipts: [messages[0]!.receipt], visibility: 60 } });
  await call('POST', '/v1/inbox/ack', { token: ann.token, body: { receipts: [messages[0]!.receipt] } });
  await call('POST', '/v1/inbox/nack', { token: ann.token, body: { receipts: [messages[1]!.receipt, messages[2]!.receipt], reason: 'no' } });
  expect((await call('GET', '/v1/inbox/dead-letters', { token: ann.token })).body.dead_letters.length).toBe(2);
  await call('GET', `/v1/admin/dead-letters?client_id=${ann.id}`, { token: admin });
  await call('POST', '/v1/inbox/dead-letters/redrive', { token: ann.token, body: {} });
  await call('POST', '/v1/admin/dead-letters/redrive', { token: admin, body: { client_id: ann.id } });
  await call('POST', '/v1/admin/dead-letters/purge', { token: admin, body: { client_id: ann.id } });
  await call('GET', '/v1/inbox/stream', { token: ann.token });
  expect((await call('GET', '/v1/inbox/ws', { token: ann.token })).status).toBe(426);
  expect((await call('POST', '/v1/requests', { token: bob.token, body: { to: 'user:ann', payload: '?', timeout_seconds: 0.1 } })).status).toBe(504);
  await eventually(async () => ((await call('GET', '/v1/history?conversation=topic:news', { token: ann.token })).body.messages.length === 3 ? true : undefined));

  // Admin numbers.
  await eventually(async () => ((await call('GET', '/v1/admin/analytics?minutes=5', { token: admin })).body.minutes.length > 0 ? true : undefined));
  await call('GET', '/v1/admin/scaling', { token: admin });
  await call('GET', '/v1/admin/stages/routing/dead-letters', { token: admin });
  await call('POST', '/v1/admin/stages/routing/dead-letters/redrive', { token: admin, body: {} });
  await call('GET', '/v1/admin/anomalies', { token: admin });
  await call('GET', '/v1/admin/anomalies/band?address=topic:news&minutes=5', { token: admin });
  await call('GET', '/v1/admin/dashboard/snapshot', { token: admin });
  await call('GET', '/v1/admin/dashboard/queues', { token: admin });
  await call('GET', '/v1/admin/dashboard/stream', { token: admin });

  // The dashboard page and its login.
  await call('GET', '/dashboard');
  await call('GET', '/dashboard/assets/dashboard.js');
  expect((await call('GET', '/dashboard/assets/nothing.js')).status).toBe(404);
  expect((await call('POST', '/dashboard/session', { body: { token: 'sy_wrong' } })).status).toBe(401);
  await call('POST', '/dashboard/session', { body: { token: admin } });
  await call('DELETE', '/dashboard/session');

  // The checks bite: a body that lacks what the schema requires fails it.
  const published = doc.paths['/v1/messages']!.post!.responses['202']!.content!['application/json']!.schema!;
  expect(ajv.compile({ ...published, components: doc.components })({ duplicate: false })).toBe(false);

  const missing = operations().map((o) => `${o.method} ${o.template}`).filter((key) => !checked.has(key));
  expect(missing, 'operations no answer was checked for').toEqual([]);
});
