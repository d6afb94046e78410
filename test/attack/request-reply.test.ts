// Request/reply must not become a way around authorization: a request waits only on an address its
// caller may listen to, only messages newer than the request answer it, and only a client that may
// listen to the request's `to` address can answer (anyone else's message with the same correlation
// id is not taken for the reply). The waiting requests of a process share one query per poll.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AddressAccess } from '../../src/auth/access.ts';
import { GroupMembership } from '../../src/groups/membership.ts';
import { createLogger } from '../../src/logger.ts';
import { insertMessages } from '../../src/messages/messages.repository.ts';
import { ReplyWatch } from '../../src/requests/reply-watch.ts';
import { TopicPolicies } from '../../src/topics/topic-policies.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { countRows, expectProblem } from '../helpers/problems.ts';
import { newMessage } from '../helpers/queue.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let carol: TestClient;
let bob: TestClient;
let nick: TestClient; // no group, no grant
let dave: TestClient; // a bystander who tries to answer requests not sent to him
let eve: TestClient; // member of ops, like carol

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
  for (const user of ['carol', 'eve']) expect((await service.admin.put(`/v1/admin/groups/ops/members/${user}`)).status).toBe(200);
  expect((await service.admin.put('/v1/admin/topics/vault/policy', { publish: ['carol'], subscribe: ['carol'] })).status).toBe(200);
  carol = await registerClient(service.admin, 'carol', ['group:ops', 'topic:vault']);
  bob = await registerClient(service.admin, 'bob');
  nick = await registerClient(service.admin, 'nick');
  dave = await registerClient(service.admin, 'dave');
  eve = await registerClient(service.admin, 'eve', ['group:ops']);
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

/** The first message in the client's inbox with this correlation id, acked. */
async function receiveRequest(client: TestClient, correlationId: string) {
  return eventually(async () => {
    const reply = await client.api.get('/v1/inbox?wait=1&max=100');
    const messages = reply.body.messages as { receipt: string; correlation_id: string | null; reply_to: string | null }[];
    if (messages.length > 0) await client.api.post('/v1/inbox/ack', { receipts: messages.map((m) => m.receipt) });
    return messages.find((m) => m.correlation_id === correlationId);
  }, 10_000, `the request ${correlationId}`);
}

describe('a request waits only on an address its caller may listen to', () => {
  test.each([
    ['another user', 'user:bob'],
    ['a group it is not in', 'group:ops'],
    ['a topic whose policy does not grant it subscribe', 'topic:vault'],
  ])('reply_to %s is 403 ReplyToForbidden and publishes nothing', async (_, replyTo) => {
    // What the review found: a message another client sent there, with a guessable correlation id.
    await publish(carol, { to: replyTo, payload: 'private', correlation_id: 'order-42' });
    const before = await countRows(database.db);
    const reply = await nick.api.post('/v1/requests', { to: 'user:carol', payload: 1, reply_to: replyTo, correlation_id: 'order-42', timeout_seconds: 1 });
    expectProblem(reply, 403, 'ReplyToForbidden', 'reply_to');
    expect(JSON.stringify(reply.body)).not.toContain('private');
    expect((await countRows(database.db)).messages).toBe(before.messages);
  });
});

test('a message older than the request never answers it', async () => {
  await publish(carol, { to: 'user:nick', payload: 'an old message', correlation_id: 'order-7' });
  const reply = await nick.api.post('/v1/requests', { to: 'user:carol', payload: 'anyone?', correlation_id: 'order-7', timeout_seconds: 0.5 });
  expectProblem(reply, 504, 'ReplyTimeout');
});

describe('only a client the request was sent to can answer it', () => {
  test('to user:carol: a bystander\'s message with the correlation id is skipped, Carol\'s is the reply', async () => {
    const request = nick.api.post('/v1/requests', { to: 'user:carol', payload: 'price?', correlation_id: 'quote-1', timeout_seconds: 10 });
    await receiveRequest(carol, 'quote-1');
    await publish(dave, { to: 'user:nick', payload: 'spoofed', correlation_id: 'quote-1' });
    await publish(carol, { to: 'user:nick', payload: 'real', correlation_id: 'quote-1' });
    const reply = await request;
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.reply).toMatchObject({ from: 'user:carol', payload: 'real' });
  });

  test('to a group: a member answers, a non-member cannot', async () => {
    const request = carol.api.post('/v1/requests', { to: 'group:ops', payload: 'who is on call?', correlation_id: 'oncall-1', timeout_seconds: 10 });
    await receiveRequest(eve, 'oncall-1');
    await publish(dave, { to: 'user:carol', payload: 'me (not really)', correlation_id: 'oncall-1' });
    await publish(eve, { to: 'user:carol', payload: 'eve', correlation_id: 'oncall-1' });
    const reply = await request;
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.reply).toMatchObject({ from: 'user:eve', payload: 'eve' });
  });

  test('more spoofed messages than one look reads do not hide the real reply', async () => {
    const request = nick.api.post('/v1/requests', { to: 'user:carol', payload: 'flood?', correlation_id: 'flood-1', timeout_seconds: 10 });
    await receiveRequest(carol, 'flood-1');
    await dave.api.post('/v1/messages/batch', { messages: Array.from({ length: 40 }, (_, i) => ({ to: 'user:nick', payload: `spoof ${i}`, correlation_id: 'flood-1' })) });
    await publish(carol, { to: 'user:nick', payload: 'real', correlation_id: 'flood-1' });
    const reply = await request;
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.reply).toMatchObject({ from: 'user:carol', payload: 'real' });
  });
});

test('one look finds the replies of every waiting request at once', async () => {
  const access = new AddressAccess(new GroupMembership(database.db, 0), new TopicPolicies(database.db, 0));
  const watch = new ReplyWatch(database.db, access, 60_000, createLogger('silent'));
  const requests = await Promise.all([1, 2, 3].map((i) => publish(bob, { to: 'user:carol', payload: i, correlation_id: `batch-${i}` })));
  const abort = new AbortController();
  const waits = requests.map((requestId, i) => watch.register({ requestId, correlationId: `batch-${i + 1}`, replyTo: 'user:bob', to: 'user:carol' }, 10_000, abort.signal));
  for (const i of [1, 2, 3]) await publish(carol, { to: 'user:bob', payload: `answer ${i}`, correlation_id: `batch-${i}` });
  expect(await watch.runOnce()).toEqual({ processed: 3, more: false });
  const replies = await Promise.all(waits.map((w) => w.reply));
  expect(replies.map((r) => r?.payload)).toEqual(['answer 1', 'answer 2', 'answer 3']);
  expect(watch.size).toBe(0);
  abort.abort();
});

test('a reply from a router whose clock is behind still answers: "newer" is by the database\'s clock, not the ids', async () => {
  const access = new AddressAccess(new GroupMembership(database.db, 0), new TopicPolicies(database.db, 0));
  const watch = new ReplyWatch(database.db, access, 60_000, createLogger('silent'));
  const requestId = await publish(bob, { to: 'user:carol', payload: 'skewed?', correlation_id: 'skew-1' });
  const abort = new AbortController();
  const wait = watch.register({ requestId, correlationId: 'skew-1', replyTo: 'user:bob', to: 'user:carol' }, 10_000, abort.signal);
  // Carol's router made the reply's id 20 s in the past by its own clock; the log takes it now.
  // (uuidv7() never goes back within one process, so the id is made here from a time.)
  const past = await sql<{ id: string }>`select switchyard.uuid_floor(now() - interval '20 seconds')::text as id`.execute(database.db);
  const skewed = newMessage('user:bob', {
    id: past.rows[0]!.id, sender_id: carol.id, sender: 'user:carol', correlation_id: 'skew-1', payload: 'late clock',
  });
  expect(skewed.id < requestId).toBe(true);
  await insertMessages(database.db, [skewed], 300);
  expect(await watch.runOnce()).toEqual({ processed: 1, more: false });
  expect((await wait.reply)?.id).toBe(skewed.id);
  abort.abort();
});
