// Webhook delivery against a real receiver on 127.0.0.1 that verifies every signature with the
// standardwebhooks package: delivery and ack, batching, a receiver down and back behind the
// circuit breaker, a slow receiver, 410 Gone, max receives into dead letters, and secret rotation.
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, expect, test, vi } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { createLogger } from '../../src/logger.ts';
import { AddressGuard } from '../../src/webhooks/address-guard.ts';
import { WebhookDispatcher, type CircuitEvent } from '../../src/webhooks/webhook-dispatcher.ts';
import { WebhookSender } from '../../src/webhooks/webhook-sender.ts';
import { generateWebhookSecret } from '../../src/webhooks/webhook-signature.ts';
import { findWebhookEndpoint, rotateWebhookSecret, upsertWebhookEndpoint } from '../../src/webhooks/webhook.repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createQueueClient, newMessage, publishAndRoute } from '../helpers/queue.ts';
import { WebhookReceiver } from '../helpers/webhook-receiver.ts';

let database: TestDatabase;
let db: Db;
let n = 0;
const open: { receiver: WebhookReceiver; dispatcher: WebhookDispatcher; sender: WebhookSender }[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
});

/**
 * The breaker (cockatiel) reads Date.now() for its cool-downs and takes no clock of its own, so the
 * tests that wait for one fake Date alone (timers stay real) and move it instead of sleeping.
 */
function fakeDate(): (ms: number) => void {
  vi.useFakeTimers({ toFake: ['Date'] });
  return (ms) => vi.setSystemTime(Date.now() + ms);
}

afterEach(async () => {
  vi.useRealTimers();
  await sql`delete from switchyard.webhook_endpoint`.execute(db); // every dispatcher serves every endpoint
  for (const o of open.splice(0)) {
    await o.dispatcher.stop(5_000);
    o.sender.close();
    await o.receiver.stop();
  }
});

afterAll(async () => {
  await database?.drop();
});

interface Setup {
  batch_size?: number;
  concurrency?: number;
  timeout_ms?: number;
  failures?: number;
  cooldownMs?: number;
  maxReceives?: number;
}

/** A client with an endpoint at a fresh receiver, and a dispatcher for it. */
async function setUp(o: Setup = {}) {
  const name = `hook${++n}`;
  const clientId = await createQueueClient(db, name);
  const receiver = new WebhookReceiver();
  await receiver.start();
  const secret = generateWebhookSecret();
  receiver.secrets = [secret];
  await upsertWebhookEndpoint(db, clientId, {
    url: receiver.url, batch_size: o.batch_size ?? 1, concurrency: o.concurrency ?? 1, timeout_ms: o.timeout_ms ?? 5_000,
  }, secret);
  const events: CircuitEvent[] = [];
  const sender = new WebhookSender(new AddressGuard(['127.0.0.1']));
  const dispatcher = new WebhookDispatcher({
    db, sender, pollMs: 1_000, log: createLogger('silent'),
    breaker: { failures: o.failures ?? 3, cooldownMs: o.cooldownMs ?? 200 },
    policyDefaults: { maxReceives: o.maxReceives ?? 10, backoffBaseMs: 0, backoffCapMs: 0 },
    onCircuit: async (event) => {
      events.push(event);
    },
  });
  open.push({ receiver, dispatcher, sender });
  const publish = (count: number) => publishAndRoute(db, Array.from({ length: count }, (_, i) => newMessage(`topic:${name}`, { payload: i })));
  const round = async () => {
    await dispatcher.runOnce();
    await dispatcher.settle();
  };
  return { clientId, receiver, dispatcher, events, publish, round, secret };
}

const queue = async (clientId: string) => (await sql<{ message_id: string; receive_count: number }>`
  select message_id, receive_count from switchyard.delivery where client_id = ${clientId} order by message_id`.execute(db)).rows;

const deadLetters = async (clientId: string) => (await sql<{ message_id: string; last_error: string; receive_count: number }>`
  select message_id, last_error, receive_count from switchyard.dead_letter where client_id = ${clientId}`.execute(db)).rows;

test('each message is POSTed once, signed as Standard Webhooks says, and a 2xx acks it', async () => {
  const { clientId, receiver, publish, round } = await setUp();
  const ids = await publish(3);
  await round();
  expect(receiver.received).toHaveLength(3);
  expect(receiver.received.every((r) => r.verifiedWith.length === 1)).toBe(true);
  expect(receiver.ids().sort()).toEqual([...ids].sort());
  expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(receiver.received.map((r) => `msg_${r.messages[0]!.id}`));
  expect(receiver.received[0]!.messages[0]).toMatchObject({ receive_count: 1 });
  expect(receiver.received[0]!.messages[0]).not.toHaveProperty('receipt');
  expect(await queue(clientId)).toEqual([]);
  const receipts = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery_receipt where client_id = ${clientId}`.execute(db);
  expect(receipts.rows[0]!.n).toBe(3);
});

test('with batching, up to batch_size messages go in one POST', async () => {
  const { receiver, publish, round } = await setUp({ batch_size: 4 });
  const ids = await publish(6);
  await round();
  expect(receiver.received.map((r) => r.messages.length).sort()).toEqual([2, 4]);
  expect(receiver.ids().sort()).toEqual([...ids].sort());
  expect(receiver.received.every((r) => r.verifiedWith.length === 1 && r.headers['webhook-id']!.startsWith('batch_'))).toBe(true);
});

test('receiver down: the breaker opens within its threshold, receive counts stay while open, and after recovery every message arrives once', async () => {
  const passes = fakeDate();
  const { clientId, receiver, dispatcher, events, publish, round } = await setUp({ failures: 3, cooldownMs: 300 });
  const ids = await publish(8);
  const port = await receiver.stop(); // connections refused from now on
  await round();
  const receives = (await queue(clientId)).reduce((sum, row) => sum + row.receive_count, 0);
  expect(receives).toBe(3); // the threshold, no more
  expect(dispatcher.circuits()).toEqual([{ clientId, state: 'open' }]);
  expect(events.map((e) => e.state)).toEqual(['open']);
  expect(events[0]!.reason).toMatch(/ECONNREFUSED/);
  expect((await findWebhookEndpoint(db, clientId))!.circuit_state).toBe('open');

  // While open: rounds lease nothing, so no receive count moves and nothing is dead-lettered.
  const before = await queue(clientId);
  for (let i = 0; i < 3; i++) await round();
  expect(await queue(clientId)).toEqual(before);
  expect(await deadLetters(clientId)).toEqual([]);

  // Back up: after the cool-down one probe half-opens the breaker, its success closes it, the rest follow.
  await receiver.start(port);
  passes(350);
  await round();
  expect(events.map((e) => e.state)).toEqual(['open', 'half_open', 'closed']);
  expect(receiver.ids().sort()).toEqual([...ids].sort()); // every one, none twice
  expect(await queue(clientId)).toEqual([]);
  expect((await findWebhookEndpoint(db, clientId))!.circuit_state).toBe('closed');
});

test('a failed probe opens the breaker again, for a longer cool-down', async () => {
  const passes = fakeDate();
  const { receiver, events, publish, round } = await setUp({ failures: 1, cooldownMs: 200 });
  await publish(2);
  receiver.answer = () => ({ status: 503, body: 'maintenance' });
  await round();
  passes(250);
  await round(); // the probe fails
  expect(events.map((e) => e.state)).toEqual(['open', 'half_open', 'open']);
  const requests = receiver.received.length;
  passes(250);
  await round(); // the second cool-down is longer than the first: no probe yet
  expect(receiver.received.length).toBe(requests);
});

test('a slow receiver gets at most `concurrency` requests at once, and one slower than the timeout is a failure', async () => {
  const slow = await setUp({ concurrency: 2, timeout_ms: 2_000 });
  slow.receiver.answer = () => ({ status: 200, delayMs: 150 });
  const ids = await slow.publish(6);
  await slow.round();
  expect(slow.receiver.maxInFlight).toBe(2);
  expect(slow.receiver.ids().sort()).toEqual([...ids].sort());

  const tooSlow = await setUp({ timeout_ms: 200, maxReceives: 1, failures: 100 });
  tooSlow.receiver.answer = () => ({ status: 200, delayMs: 1_000 });
  const [id] = await tooSlow.publish(1);
  await tooSlow.round();
  expect(await deadLetters(tooSlow.clientId)).toEqual([{ message_id: id, receive_count: 1, last_error: 'webhook timed out after 200 ms' }]);
});

test('after max_receives the message is a dead letter whose error has the HTTP status and a short excerpt of the body', async () => {
  const { clientId, receiver, publish, round } = await setUp({ maxReceives: 2, failures: 100 });
  receiver.answer = () => ({ status: 500, body: `database is down\n${'x'.repeat(10_000)}` });
  const [id] = await publish(1);
  await round();
  const dead = await deadLetters(clientId);
  expect(dead.map((d) => [d.message_id, d.receive_count])).toEqual([[id, 2]]);
  expect(dead[0]!.last_error).toMatch(/^webhook HTTP 500: database is down x+$/);
  expect(dead[0]!.last_error.length).toBeLessThan(250);
  expect(receiver.received).toHaveLength(2);
});

test('a redirect is not followed: it is a failure like any other non-2xx answer', async () => {
  const { clientId, receiver, publish, round } = await setUp({ maxReceives: 1, failures: 100 });
  receiver.answer = () => ({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
  await publish(1);
  await round();
  expect((await deadLetters(clientId))[0]!.last_error).toBe('webhook HTTP 302');
  expect(receiver.received).toHaveLength(1);
});

test('410 Gone disables the endpoint: the message stays in the queue and nothing more is sent', async () => {
  const { clientId, receiver, events, publish, round } = await setUp();
  receiver.answer = () => ({ status: 410 });
  await publish(3);
  await round();
  expect(receiver.received).toHaveLength(1);
  const endpoint = (await findWebhookEndpoint(db, clientId))!;
  expect(endpoint.disabled_at).not.toBeNull();
  expect(endpoint.disabled_reason).toMatch(/410/);
  expect(events.map((e) => e.state)).toEqual(['disabled']);
  expect(await queue(clientId)).toHaveLength(3);
  await round();
  expect(receiver.received).toHaveLength(1);
});

test('after a rotation both secrets sign until the overlap ends; then only the new one does', async () => {
  const { clientId, receiver, publish, round, secret: first } = await setUp();
  const second = generateWebhookSecret();
  await rotateWebhookSecret(db, clientId, second, 3600);
  receiver.secrets = [first, second];
  await publish(1);
  await round();
  expect(receiver.received[0]!.verifiedWith).toEqual([first, second]);
  expect(receiver.received[0]!.headers['webhook-signature']!.split(' ')).toHaveLength(2);

  const third = generateWebhookSecret();
  await rotateWebhookSecret(db, clientId, third, 0);
  receiver.secrets = [second, third];
  await publish(1);
  await round();
  expect(receiver.received[1]!.verifiedWith).toEqual([third]);
});
