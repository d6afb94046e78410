// Injection and oversized cases: what an attacker would try first. Text that looks like SQL is
// data and comes back byte for byte; text PostgreSQL cannot store is refused before it can fail a
// group commit shared with other clients; nesting that would blow a recursive parser's stack is
// refused by depth; nothing reaches an object's prototype.
import { sql } from 'kysely';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { countRows, expectProblem } from '../helpers/problems.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let mallory: TestClient;
let bob: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
  mallory = await registerClient(service.admin, 'mallory', ['topic:news']);
  bob = await registerClient(service.admin, 'bob', ['topic:news']);
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

const INJECTION = "x'); drop table switchyard.message; select ('";

describe('injection', () => {
  test('SQL in a payload, a type and a header is data: stored and delivered byte for byte', async () => {
    const message = { to: 'topic:news', type: INJECTION.slice(0, 100), payload: { q: INJECTION, [INJECTION]: '\\x00 $1 %s' }, headers: { sql: INJECTION } };
    const id = await publish(mallory, message);
    const received = await eventually(async () => {
      const reply = await bob.api.get('/v1/inbox?wait=2&max=100');
      return (reply.body.messages as { id: string }[]).find((m) => m.id === id);
    }, 10_000, 'the message');
    expect(received).toMatchObject({ type: message.type, payload: message.payload, headers: message.headers });
    const tables = await sql<{ n: number }>`select count(*)::int as n from pg_tables where schemaname = 'switchyard' and tablename = 'message'`.execute(database.db);
    expect(tables.rows[0]!.n).toBe(1);
  });

  test('SQL in names, addresses and path parameters is refused by their grammar', async () => {
    expectProblem(await service.admin.post('/v1/clients', { name: INJECTION }), 400, 'ValidationFailed', 'name');
    expectProblem(await mallory.api.post('/v1/messages', { to: `topic:${INJECTION}`, payload: 1 }), 400, 'ValidationFailed', 'to');
    expectProblem(await mallory.api.get(`/v1/history?conversation=${encodeURIComponent(`group:${INJECTION}`)}`), 400, 'ValidationFailed', 'conversation');
    expectProblem(await service.admin.put(`/v1/admin/groups/${encodeURIComponent(INJECTION)}/members/bob`), 400, 'ValidationFailed', 'group');
    expectProblem(await service.admin.put(`/v1/admin/topics/${encodeURIComponent(INJECTION)}/policy`, {}), 400, 'ValidationFailed', 'topic');
    expectProblem(await service.admin.put('/v1/admin/topics/news/policy', { publish: [INJECTION] }), 400, 'ValidationFailed', 'publish.0');
    expectProblem(await service.admin.post(`/v1/admin/clients/${encodeURIComponent('1 or 1=1')}/revoke`), 400, 'ValidationFailed', 'id');
  });

  test('"__proto__" and "constructor" keys are plain data and reach no prototype', async () => {
    const body = '{"to":"topic:news","payload":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}},"headers":{"constructor":"x"}}';
    const reply = await mallory.api.raw('POST', '/v1/messages', body, { 'content-type': 'application/json' });
    expect(reply.status, JSON.stringify(reply.body)).toBe(202);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const stored = await sql<{ payload: unknown }>`select payload from switchyard.message where id = ${reply.body.id}::uuid`.execute(database.db);
    expect(JSON.stringify(stored.rows[0]!.payload)).toContain('"__proto__":{"polluted":true}');
    // ...and a top-level one is an unknown field, not a way around the schema
    expectProblem(await mallory.api.raw('POST', '/v1/messages', '{"to":"topic:news","payload":1,"__proto__":{"to":"group:x"}}', { 'content-type': 'application/json' }), 400, 'ValidationFailed');
  });
});

describe('text PostgreSQL cannot store', () => {
  test.each([
    ['U+0000 in a payload string', { to: 'topic:news', payload: { a: ['ok', 'x\u0000y'] } }, 'payload.a.1'],
    ['U+0000 in a payload key', { to: 'topic:news', payload: { 'k\u0000': 1 } }, 'payload'],
    ['an unpaired high surrogate in a payload', { to: 'topic:news', payload: 'x\uD800' }, 'payload'],
    ['an unpaired low surrogate in a type', { to: 'topic:news', type: '\uDC00x', payload: 1 }, 'type'],
    ['U+0000 in a header value', { to: 'topic:news', payload: 1, headers: { h: '\u0000' } }, 'headers.h'],
    ['U+0000 in a dedup id', { to: 'topic:news', payload: 1, dedup_id: 'a\u0000' }, 'dedup_id'],
  ])('%s is a 400 naming the field', async (_name, message, path) => {
    // Deliveries are left out: earlier tests' messages may still be fanning out.
    const messages = async () => ({ ...(await countRows(database.db)), deliveries: 0 });
    const before = await messages();
    expectProblem(await mallory.api.post('/v1/messages', message), 400, 'ValidationFailed', path);
    expect(await messages()).toEqual(before);
  });

  test("a refused message never fails another client's message committed in the same flush", async () => {
    const hostile = Array.from({ length: 20 }, () => mallory.api.post('/v1/messages', { to: 'topic:news', payload: '\u0000' }));
    const innocent = Array.from({ length: 20 }, (_, i) => bob.api.post('/v1/messages', { to: 'topic:news', payload: i }));
    const replies = await Promise.all([...hostile, ...innocent]);
    expect(replies.slice(0, 20).map((r) => r.status)).toEqual(Array(20).fill(400));
    expect(replies.slice(20).map((r) => r.status)).toEqual(Array(20).fill(202));
  });
});

describe('oversized and deep', () => {
  test('a payload nested 400,000 levels deep is a 400 PayloadTooDeep, not a stack overflow', async () => {
    const depth = 400_000;
    const body = `{"to":"topic:news","payload":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expectProblem(await mallory.api.raw('POST', '/v1/messages', body, { 'content-type': 'application/json' }), 400, 'PayloadTooDeep');
  });

  test('deep nesting anywhere else is refused by the shape it breaks', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expectProblem(await mallory.api.raw('PUT', '/v1/clients/me/listen-to', `{"listen_to":${deep}}`, { 'content-type': 'application/json' }), 400, 'ValidationFailed');
    expectProblem(await mallory.api.raw('POST', '/v1/inbox/ack', `{"receipts":${deep}}`, { 'content-type': 'application/json' }), 400, 'ValidationFailed');
    expectProblem(await mallory.api.raw('POST', '/v1/messages/batch', `{"messages":${deep}}`, { 'content-type': 'application/json' }), 400, 'ValidationFailed');
    let schema = '{"type":"object"}';
    for (let i = 0; i < 5_000; i++) schema = `{"type":"object","properties":{"a":${schema}}}`;
    expectProblem(await service.admin.raw('PUT', '/v1/admin/topics/deep/schema', schema, { 'content-type': 'application/json' }), 400, 'SchemaInvalid');
  });

  test('a body over the default 1 MiB is a 413, answered before it is all read', async () => {
    // On a connection of its own: the server closes it rather than read the rest, which would
    // break the next request of a pooled connection.
    const body = JSON.stringify({ to: 'topic:news', payload: 'x'.repeat(1024 * 1024) });
    const reply = await new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      const request = httpRequest(`${service.url}/v1/messages`, {
        method: 'POST', agent: false,
        headers: { authorization: `Bearer ${mallory.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode!, type: response.headers['content-type'], body: text }));
      });
      request.on('error', reject);
      request.end(body);
    });
    expect(reply.status).toBe(413);
    expect(reply.type).toBe('application/problem+json');
    expect(JSON.parse(reply.body).code).toBe('PayloadTooLarge');
  });

  test('a huge number of field errors is cut short, saying how many more there were', async () => {
    const messages = Array.from({ length: 500 }, () => ({ to: 'nowhere', payload: 1 }));
    const reply = await mallory.api.post('/v1/messages/batch', { messages });
    expectProblem(reply, 400, 'ValidationFailed');
    expect(reply.body.errors).toHaveLength(50);
    expect(reply.body.detail).toMatch(/and 450 more$/);
  });

  test('numbers out of every range are 400s, not coerced', async () => {
    for (const raw of ['{"to":"topic:news","payload":1,"priority":1e400}', '{"to":"topic:news","payload":1,"delay_seconds":-0.5}', '{"to":"topic:news","payload":1,"ttl_seconds":9007199254740993}']) {
      expectProblem(await mallory.api.raw('POST', '/v1/messages', raw, { 'content-type': 'application/json' }), 400, 'ValidationFailed');
    }
  });
});

describe('requests Node itself refuses', () => {
  /** Sends raw bytes on a fresh connection and returns what comes back. */
  async function rawHttp(text: string): Promise<string> {
    const { hostname, port } = new URL(service.url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.end(text));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
    });
  }

  test.each([
    ['a header block over Node\'s limit', `GET /v1/inbox HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'RequestHeadersTooLarge'],
    ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n', 400, 'MalformedRequest'],
    ['a header with a NUL byte', 'GET /v1/inbox HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n', 400, 'MalformedRequest'],
  ])('%s is answered with problem+json too', async (_name, text, status, code) => {
    const answer = await rawHttp(text);
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(head).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(body!)).toMatchObject({ status, code });
  });
});
