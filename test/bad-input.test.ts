// Bad input gets a problem+json 4xx with a stable code and the field at fault, and changes nothing.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { registerClient, type TestClient } from './helpers/factories.ts';
import type { Reply } from './helpers/http.ts';
import { startTestService, type TestService } from './helpers/service.ts';

const MAX_BODY = 64 * 1024; // room for a batch of 1001 small messages
let database: TestDatabase;
let service: TestService;
let alice: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, { SWITCHYARD_MAX_BODY_BYTES: String(MAX_BODY) });
  alice = await registerClient(service.admin, 'alice', ['topic:news']);
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

async function counts() {
  const row = await sql<{ messages: number; clients: number; subscriptions: number; members: number }>`
    select (select count(*)::int from switchyard.message) as messages,
           (select count(*)::int from switchyard.client) as clients,
           (select count(*)::int from switchyard.subscription) as subscriptions,
           (select count(*)::int from switchyard.group_member) as members`.execute(database.db);
  return row.rows[0]!;
}

/** Sends the request, then checks the problem it gets back and that nothing was written. */
async function expectProblem(send: () => Promise<Reply>, status: number, code: string, path?: string) {
  const before = await counts();
  const reply = await send();
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expect(reply.headers.get('content-type')).toBe('application/problem+json');
  expect(reply.body).toMatchObject({ status, code, type: expect.stringMatching(/^\/problems\//), title: expect.any(String), detail: expect.any(String) });
  if (path) expect(reply.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  await new Promise((resolve) => setTimeout(resolve, 50)); // anything written would be committed by now
  expect(await counts()).toEqual(before);
  return reply.body;
}

describe('publishing', () => {
  test('malformed JSON is a 400 MalformedJson', async () => {
    await expectProblem(() => alice.api.raw('POST', '/v1/messages', '{"to": "topic:news", "payload": ', { 'content-type': 'application/json' }), 400, 'MalformedJson');
  });

  test('an unknown field is a 400 naming it', async () => {
    const body = await expectProblem(() => alice.api.post('/v1/messages', { to: 'topic:news', payload: 1, colour: 'red' }), 400, 'ValidationFailed');
    expect(body.detail).toContain('colour');
  });

  test('a body over the limit is a 413', async () => {
    await expectProblem(() => alice.api.post('/v1/messages', { to: 'topic:news', payload: 'x'.repeat(MAX_BODY) }), 413, 'PayloadTooLarge');
  });

  test('an unknown address kind is a 400 on the field "to"', async () => {
    const body = await expectProblem(() => alice.api.post('/v1/messages', { to: 'queue:jobs', payload: 1 }), 400, 'ValidationFailed', 'to');
    expect(body.detail).toContain('unknown address kind');
  });

  test('an address with a bad name is a 400', async () => {
    await expectProblem(() => alice.api.post('/v1/messages', { to: 'topic:-x y', payload: 1 }), 400, 'ValidationFailed', 'to');
  });

  test('a missing payload, a priority of 10 and a negative delay are 400s naming each field', async () => {
    await expectProblem(() => alice.api.post('/v1/messages', { to: 'topic:news' }), 400, 'ValidationFailed', 'payload');
    await expectProblem(() => alice.api.post('/v1/messages', { to: 'topic:news', payload: 1, priority: 10 }), 400, 'ValidationFailed', 'priority');
    await expectProblem(() => alice.api.post('/v1/messages', { to: 'topic:news', payload: 1, delay_seconds: -1 }), 400, 'ValidationFailed', 'delay_seconds');
  });

  test('a body that is not JSON by its content type is a 415', async () => {
    await expectProblem(() => alice.api.raw('POST', '/v1/messages', 'to=topic:news', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UnsupportedMediaType');
  });

  test('a batch with one bad message writes none and names the bad one', async () => {
    const messages = [{ to: 'topic:news', payload: 1 }, { to: 'nowhere', payload: 2 }, { to: 'topic:news', payload: 3 }];
    await expectProblem(() => alice.api.post('/v1/messages/batch', { messages }), 400, 'ValidationFailed', 'messages.1.to');
  });

  test('a batch of more than 1000 is a 400 BatchTooLarge', async () => {
    const messages = Array.from({ length: 1001 }, () => ({ to: 'topic:news', payload: 0 }));
    await expectProblem(() => alice.api.post('/v1/messages/batch', { messages }), 400, 'BatchTooLarge', 'messages');
  });

  test('posting into a group one is not a member of is a 403 and writes nothing', async () => {
    await expectProblem(() => alice.api.post('/v1/messages', { to: 'group:secret', payload: 1 }), 403, 'NotAGroupMember', 'to');
  });
});

describe('tokens', () => {
  test('no token is a 401 TokenMissing', async () => {
    await expectProblem(() => service.anonymous.post('/v1/messages', { to: 'topic:news', payload: 1 }), 401, 'TokenMissing');
  });

  test('an unknown token is a 401 TokenInvalid', async () => {
    await expectProblem(() => service.anonymous.as('sy_not-a-real-token').post('/v1/messages', { to: 'topic:news', payload: 1 }), 401, 'TokenInvalid');
  });

  test('an Authorization header that is not Bearer is a 401', async () => {
    await expectProblem(() => service.anonymous.post('/v1/messages', { to: 'topic:news', payload: 1 }, { authorization: 'Basic YWxpY2U6eA==' }), 401, 'TokenInvalid');
  });

  test('a client token on an admin endpoint is a 403, and the admin token on a client endpoint too', async () => {
    await expectProblem(() => alice.api.post('/v1/clients', { name: 'mallory' }), 403, 'Forbidden');
    await expectProblem(() => service.admin.post('/v1/messages', { to: 'topic:news', payload: 1 }), 403, 'Forbidden');
  });
});

describe('registration and listen-to lists', () => {
  test('a bad name is a 400', async () => {
    await expectProblem(() => service.admin.post('/v1/clients', { name: 'no spaces please' }), 400, 'ValidationFailed', 'name');
  });

  test("listening to another user's address is a 403 naming the entry", async () => {
    await expectProblem(() => service.admin.post('/v1/clients', { name: 'eve', listen_to: ['topic:news', 'user:alice'] }), 403, 'ListenToForbidden', 'listen_to.1');
    await expectProblem(() => alice.api.put('/v1/clients/me/listen-to', { listen_to: ['user:bob'] }), 403, 'ListenToForbidden', 'listen_to.0');
  });

  test('listening to a group one is not a member of is a 403', async () => {
    await expectProblem(() => alice.api.put('/v1/clients/me/listen-to', { listen_to: ['group:secret'] }), 403, 'ListenToForbidden', 'listen_to.0');
  });
});

describe('the inbox', () => {
  test('acking something that is not a receipt is a 400', async () => {
    await expectProblem(() => alice.api.post('/v1/inbox/ack', { receipts: ['hello'] }), 400, 'ValidationFailed', 'receipts.0');
  });

  test('a wait of more than 20 seconds is a 400', async () => {
    await expectProblem(() => alice.api.get('/v1/inbox?wait=21'), 400, 'ValidationFailed', 'wait');
  });
});

test('an unknown route is a 404 problem', async () => {
  await expectProblem(() => alice.api.get('/v1/nothing-here'), 404, 'RouteNotFound');
});
