// Topic policies (who may publish and subscribe) and per-topic JSON Schemas: set by admins,
// enforced at publish, at listen-to changes and on history, and known to every process at once.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { grantsMatcher, grantsToLikePatterns } from '../src/topics/topic-policies.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from './helpers/factories.ts';
import { countRows, expectProblem } from './helpers/problems.ts';
import { startTestService, type TestService } from './helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let other: TestService; // a second process on the same database
let alice: TestClient;
let svc: TestClient;
let bob: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
  other = await startTestService(database.url, { SWITCHYARD_ROLES: 'router' });
  alice = await registerClient(service.admin, 'alice', ['topic:alerts']);
  svc = await registerClient(service.admin, 'svc-billing');
  bob = await registerClient(service.admin, 'bob', ['topic:alerts']);
});

afterAll(async () => {
  await other?.stop();
  await service?.stop();
  await database?.drop();
});

describe('grants', () => {
  test('are exact names or patterns where * is any run of name characters', () => {
    const matcher = grantsMatcher(['alice', 'svc-*', '*.bot']);
    expect(['alice', 'svc-', 'svc-billing', 'x.bot', '.bot'].filter((n) => matcher.test(n))).toHaveLength(5);
    expect(['alicea', 'xalice', 'svc', 'asvc-x', 'xbot', 'x.bots'].filter((n) => matcher.test(n))).toEqual([]);
    expect(grantsMatcher([]).test('anyone')).toBe(false);
    expect(grantsMatcher(['a.b']).test('axb')).toBe(false); // . is literal
    expect(grantsToLikePatterns(['a_b*'])).toEqual(['a\\_b%']); // _ is literal in SQL too
  });
});

describe('grants against a hostile pattern', () => {
  // As a backtracking RegExp this took seconds; a longer name, hours.
  test('*a*a*a*a*a*a*b against a long name that almost matches answers at once', () => {
    const matcher = grantsMatcher(['*a*a*a*a*a*a*b']);
    const started = performance.now();
    expect(matcher.test('a'.repeat(64))).toBe(false);
    expect(matcher.test(`${'a'.repeat(63)}b`)).toBe(true);
    expect(performance.now() - started).toBeLessThan(50);
  });

  test('stars match any run of name characters between the pieces, in order', () => {
    expect(grantsMatcher(['a*b*c']).test('a-x-b-y-c')).toBe(true);
    expect(grantsMatcher(['a*b*c']).test('a-c-b')).toBe(false);
    expect(grantsMatcher(['ab*ba']).test('aba')).toBe(false); // the pieces may not overlap
    expect(grantsMatcher(['a**b']).test('ab')).toBe(true);
    expect(grantsMatcher(['*']).test('a b')).toBe(false); // a space is no name character
  });
});

describe('topic policies', () => {
  test('without a policy a topic is open; with one, only granted clients publish', async () => {
    await publish(alice, { to: 'topic:alerts', payload: 'open' });
    const set = await service.admin.put('/v1/admin/topics/alerts/policy', { publish: ['svc-*'] });
    expect(set.body).toEqual({ topic: 'alerts', publish: ['svc-*'], subscribe: null, unsubscribed: 0 });
    expect((await service.admin.get('/v1/admin/topics/alerts/policy')).body).toEqual({ topic: 'alerts', publish: ['svc-*'], subscribe: null });
    await publish(svc, { to: 'topic:alerts', payload: 'granted' });
    const before = await countRows(database.db);
    const refused = await alice.api.post('/v1/messages/batch', { messages: [{ to: 'topic:news', payload: 1 }, { to: 'topic:alerts', payload: 2 }] });
    expectProblem(refused, 403, 'TopicPublishForbidden', 'messages.1.to');
    expect((await countRows(database.db)).messages).toBe(before.messages);
  });

  test('narrowing subscribe unsubscribes the clients no longer granted; listening needs the grant', async () => {
    const set = await service.admin.put('/v1/admin/topics/alerts/policy', { publish: ['svc-*'], subscribe: ['a*'] });
    expect(set.body.unsubscribed).toBe(1); // bob
    expect((await bob.api.get('/v1/clients/me')).body.listen_to).toEqual(['user:bob']);
    expect((await alice.api.get('/v1/clients/me')).body.listen_to).toContain('topic:alerts');
    expectProblem(await bob.api.put('/v1/clients/me/listen-to', { listen_to: ['topic:alerts'] }), 403, 'ListenToForbidden', 'listen_to.0');
    expectProblem(await service.admin.post('/v1/clients', { name: 'bert', listen_to: ['topic:alerts'] }), 403, 'ListenToForbidden', 'listen_to.0');
    const id = await publish(svc, { to: 'topic:alerts', payload: 'for the granted' });
    const got = await eventually(async () => {
      const reply = await alice.api.get('/v1/inbox?wait=1&max=100');
      return (reply.body.messages as { id: string }[]).some((m) => m.id === id) ? true : undefined;
    }, 10_000, 'alice to receive it');
    expect(got).toBe(true);
    expect((await bob.api.get('/v1/inbox?wait=1&max=100')).body.messages.map((m: { id: string }) => m.id)).not.toContain(id);
  });

  test("the topic's history is for its subscribers only", async () => {
    await eventually(async () => ((await alice.api.get('/v1/history?conversation=topic:alerts')).body.messages?.length > 0 ? true : undefined), 10_000, 'history');
    expectProblem(await bob.api.get('/v1/history?conversation=topic:alerts'), 403, 'TopicSubscribeForbidden');
  });

  test('an empty grant list lets no client; null or DELETE opens again', async () => {
    await service.admin.put('/v1/admin/topics/alerts/policy', { publish: [], subscribe: ['a*'] });
    expectProblem(await svc.api.post('/v1/messages', { to: 'topic:alerts', payload: 1 }), 403, 'TopicPublishForbidden');
    await service.admin.put('/v1/admin/topics/alerts/policy', { publish: null, subscribe: ['a*'] });
    await publish(bob, { to: 'topic:alerts', payload: 'open again' });
    expect((await service.admin.delete('/v1/admin/topics/alerts/policy')).body).toEqual({ topic: 'alerts', publish: null, subscribe: null, unsubscribed: 0 });
    expect((await bob.api.put('/v1/clients/me/listen-to', { listen_to: ['topic:alerts'] })).status).toBe(200);
  });

  test('a change is enforced at once by every process, whatever it had cached', async () => {
    await publish({ ...alice, api: other.anonymous.as(alice.token) }, { to: 'topic:cached', payload: 'open' }); // "open" is cached over there now
    await service.admin.put('/v1/admin/topics/cached/policy', { publish: ['nobody'] });
    await eventually(async () => ((await other.anonymous.as(alice.token).post('/v1/messages', { to: 'topic:cached', payload: 1 })).status === 403 ? true : undefined), 2_000, 'the other process to refuse');
  });

  test('topic names with a / travel as %2F', async () => {
    expect((await service.admin.put('/v1/admin/topics/orders%2Feu/policy', { publish: ['svc-*'] })).body.topic).toBe('orders/eu');
    expectProblem(await alice.api.post('/v1/messages', { to: 'topic:orders/eu', payload: 1 }), 403, 'TopicPublishForbidden');
    await service.admin.delete('/v1/admin/topics/orders%2Feu/policy');
  });
});

describe('topic schemas', () => {
  const ORDER = {
    type: 'object',
    required: ['item', 'quantity'],
    properties: { item: { type: 'string', minLength: 1 }, quantity: { type: 'integer', minimum: 1 }, email: { type: 'string', format: 'email' } },
    additionalProperties: false,
  };

  test('payloads to the topic must match; the 422 names every failing path', async () => {
    expect((await service.admin.put('/v1/admin/topics/orders/schema', ORDER)).body).toEqual({ topic: 'orders', schema: ORDER });
    expect((await service.admin.get('/v1/admin/topics/orders/schema')).body.schema).toEqual(ORDER);
    await publish(alice, { to: 'topic:orders', payload: { item: 'desk', quantity: 2, email: 'a@example.com' } });
    const before = await countRows(database.db);
    const reply = await alice.api.post('/v1/messages/batch', {
      messages: [
        { to: 'topic:orders', payload: { item: 'desk', quantity: 1 } },
        { to: 'topic:orders', payload: { item: '', quantity: 0, email: 'nope', colour: 'red' } },
        { to: 'topic:news', payload: 'unchecked' },
      ],
    });
    expectProblem(reply, 422, 'SchemaViolation');
    expect(reply.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(
      ['messages.1.payload', 'messages.1.payload.email', 'messages.1.payload.item', 'messages.1.payload.quantity'],
    );
    expect((await countRows(database.db)).messages).toBe(before.messages);
  });

  test('a changed schema is enforced at once by every process', async () => {
    await publish({ ...alice, api: other.anonymous.as(alice.token) }, { to: 'topic:shapes', payload: 'anything' });
    await service.admin.put('/v1/admin/topics/shapes/schema', { type: 'object' });
    await eventually(async () => ((await other.anonymous.as(alice.token).post('/v1/messages', { to: 'topic:shapes', payload: 'a string' })).status === 422 ? true : undefined), 2_000, 'the other process to check');
  });

  test('draft-07 schemas work when their $schema says so', async () => {
    const schema = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'array', items: [{ type: 'string' }], additionalItems: false };
    expect((await service.admin.put('/v1/admin/topics/pairs/schema', schema)).status).toBe(200);
    await publish(alice, { to: 'topic:pairs', payload: ['a'] });
    expectProblem(await alice.api.post('/v1/messages', { to: 'topic:pairs', payload: ['a', 'b'] }), 422, 'SchemaViolation');
  });

  test.each([
    ['an unknown keyword (a typo)', { type: 'object', propertes: {} }, /unknown keyword/],
    ['a wrong type name', { type: 'text' }, /must be equal to one of the allowed values/],
    ['a regular expression that does not compile', { type: 'string', pattern: '(' }, /regular expression/i],
    ['a remote $ref, never fetched', { $ref: 'https://example.com/schema.json' }, /can't resolve reference/],
    ['a backreference, which no linear-time engine runs', { type: 'string', pattern: '^(a+)\\1$' }, /linear time/],
    ['an unknown format', { type: 'string', format: 'colour' }, /unknown format/],
    ['another dialect', { $schema: 'http://json-schema.org/draft-04/schema#' }, /2020-12|draft-07/],
  ])('%s is a 400 SchemaInvalid saying why, and nothing is stored', async (_name, schema, why) => {
    const reply = await service.admin.put('/v1/admin/topics/broken/schema', schema);
    expectProblem(reply, 400, 'SchemaInvalid');
    expect(reply.body.detail).toMatch(why);
    expectProblem(await service.admin.get('/v1/admin/topics/broken/schema'), 404, 'NotFound');
  });

  test('a pattern that backtracks catastrophically in JavaScript answers at once on a 29+ character payload', async () => {
    expect((await service.admin.put('/v1/admin/topics/words/schema', { type: 'string', pattern: '^(\\w+\\s?)*$' })).status).toBe(200);
    const started = performance.now();
    const reply = await alice.api.post('/v1/messages', { to: 'topic:words', payload: `${'a'.repeat(29)}!` }); // 48 s with a backtracking RegExp
    expectProblem(reply, 422, 'SchemaViolation', 'payload');
    expect(performance.now() - started).toBeLessThan(2_000);
    await publish(alice, { to: 'topic:words', payload: 'hello big world' });
  });

  test('uniqueItems on a 10,000-item array answers at once, and still finds equal objects with keys in another order', async () => {
    expect((await service.admin.put('/v1/admin/topics/sets/schema', { type: 'array', uniqueItems: true })).status).toBe(200);
    const items = Array.from({ length: 10_000 }, (_, i) => ({ i, tags: [i % 7] }));
    const started = performance.now();
    await publish(alice, { to: 'topic:sets', payload: items });
    expect(performance.now() - started).toBeLessThan(2_000);
    const reply = await alice.api.post('/v1/messages', { to: 'topic:sets', payload: [{ a: 1, b: [2] }, 3, { b: [2], a: 1 }] });
    expectProblem(reply, 422, 'SchemaViolation', 'payload');
    expect(reply.body.errors[0].message).toContain('items ## 0 and 2');
  });

  test('DELETE removes the schema', async () => {
    await service.admin.put('/v1/admin/topics/temp/schema', { type: 'string' });
    expect((await service.admin.delete('/v1/admin/topics/temp/schema')).body).toEqual({ topic: 'temp', deleted: true });
    await publish(alice, { to: 'topic:temp', payload: 42 });
    expect((await service.admin.delete('/v1/admin/topics/temp/schema')).body.deleted).toBe(false);
  });

  test('a body-less PUT is refused rather than read as {}', async () => {
    expectProblem(await service.admin.raw('PUT', '/v1/admin/topics/temp/schema', undefined), 415, 'UnsupportedMediaType');
    expectProblem(await service.admin.raw('PUT', '/v1/admin/topics/temp/policy', undefined), 415, 'UnsupportedMediaType');
  });
});
