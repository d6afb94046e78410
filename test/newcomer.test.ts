// The README's curl story, as HTTP calls: register two clients, publish to a topic both listen to,
// receive by long poll on one and over SSE on the other, ack, and see nothing delivered again.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { publish, registerClient, type TestClient } from './helpers/factories.ts';
import { startTestService, type TestService } from './helpers/service.ts';
import { openEventStream } from './helpers/sse.ts';

let database: TestDatabase;
let service: TestService;
let alice: TestClient;
let bob: TestClient;
/** The service's lease clock runs with real time plus this: a test moves it on instead of sleeping. */
let clockAheadMs = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {}, {}, { now: () => new Date(Date.now() + clockAheadMs) });
  alice = await registerClient(service.admin, 'alice', ['topic:news']);
  bob = await registerClient(service.admin, 'bob', ['topic:news']);
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

describe('the newcomer story', () => {
  test('registration returns the client, its listen-to list with its own user address, and a token', async () => {
    const me = await alice.api.get('/v1/clients/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: alice.id, name: 'alice', listen_to: ['topic:news', 'user:alice'] });
    expect(alice.token).toMatch(/^sy_[A-Za-z0-9_-]{43}$/);
  });

  test('a topic message reaches a long poll on one client and an SSE stream on the other, once', async () => {
    // As in the README: Bob copies his receipt by hand, so his stream asks for a ten-minute lease.
    const stream = await openEventStream(`${service.url}/v1/inbox/stream?visibility=600`, { token: bob.token });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('cache-control')).toBe('no-cache');

    const id = await publish(alice, { to: 'topic:news', type: 'greeting', payload: { text: 'hello' } });

    const polled = await alice.api.get('/v1/inbox?wait=5&max=10');
    expect(polled.status).toBe(200);
    expect(polled.body.messages).toHaveLength(1);
    const [message] = polled.body.messages;
    expect(message).toMatchObject({ id, from: 'user:alice', to: 'topic:news', type: 'greeting', payload: { text: 'hello' }, receive_count: 1 });
    expect((await alice.api.post('/v1/inbox/ack', { receipts: [message.receipt] })).body).toEqual({ acked: 1, not_acked: [] });

    const event = await stream.next(5_000);
    expect(event?.event).toBe('message');
    expect(event?.id).toMatch(/^[A-Za-z0-9_-]+:1$/);
    const streamed = JSON.parse(event!.data);
    expect(streamed).toMatchObject({ id, payload: { text: 'hello' } });
    expect(stream.retry).toBeGreaterThan(0);
    expect((await bob.api.post('/v1/inbox/ack', { receipts: [streamed.receipt] })).body.acked).toBe(1);

    // Nothing comes again: not on a long poll, not on the stream (only heartbeats).
    expect((await alice.api.get('/v1/inbox?wait=1')).body.messages).toEqual([]);
    expect(await stream.next(1_500)).toBeUndefined();
    expect(stream.comments).toContain('heartbeat');
    stream.close();
  });

  test('the README shows the stream command as the story runs it, and the event fields in the order they arrive', async () => {
    const readme = await readFile(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
    expect(readme).toContain('curl -N "$SY/v1/inbox/stream?visibility=600" -H "Authorization: Bearer $BOB"');
    const shown = /Bob's stream shows an event at once:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
    const fieldsOf = (block: string) => block.split('\n').filter((line) => /^[a-z]+: /.test(line)).map((line) => line.split(':')[0]);

    const response = await fetch(`${service.url}/v1/inbox/stream?visibility=600`, { headers: { authorization: `Bearer ${bob.token}` } });
    await publish(alice, { to: 'topic:news', type: 'greeting', payload: { text: 'hello' } });
    const reader = response.body!.getReader();
    let raw = '';
    while (!/event: message\n[\s\S]*?\n\n/.test(raw)) raw += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const arrived = /event: message\n[\s\S]*?\n\n/.exec(raw)![0];
    expect(fieldsOf(shown ?? '')).toEqual(fieldsOf(arrived));
    await drain(bob);
    await drain(alice);
  });

  test('a long poll answers as soon as a message arrives, long before its wait ends', async () => {
    const started = Date.now();
    const polling = alice.api.get('/v1/inbox?wait=15');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const id = await publish(bob, { to: 'topic:news', payload: 1 });
    const reply = await polling;
    expect(reply.body.messages.map((m: { id: string }) => m.id)).toEqual([id]);
    expect(Date.now() - started).toBeLessThan(10_000);
    await alice.api.post('/v1/inbox/ack', { receipts: [reply.body.messages[0].receipt] });
    await drain(bob);
  });

  test('an SSE reconnect with Last-Event-ID gets at once what the old stream sent after that event', async () => {
    const first = await openEventStream(`${service.url}/v1/inbox/stream`, { token: bob.token });
    const ids = [];
    for (const n of [1, 2, 3]) ids.push(await publish(alice, { to: 'topic:news', payload: { n } }));
    const events = [await first.next(), await first.next(), await first.next()];
    expect(events.map((e) => JSON.parse(e!.data).id)).toEqual(ids);
    first.close();

    // The client only saw the first event before the connection dropped.
    const resumed = await openEventStream(`${service.url}/v1/inbox/stream`, { token: bob.token, lastEventId: events[0]!.id });
    const again = [await resumed.next(), await resumed.next()].map((e) => JSON.parse(e!.data));
    expect(again.map((m) => m.id)).toEqual(ids.slice(1));
    expect(await resumed.next(800)).toBeUndefined(); // the first stays leased: the client has it

    // The receipt from the first stream is still good; so are the new ones.
    const firstReceipt = JSON.parse(events[0]!.data).receipt;
    const acked = await bob.api.post('/v1/inbox/ack', { receipts: [firstReceipt, ...again.map((m) => m.receipt)] });
    expect(acked.body).toEqual({ acked: 3, not_acked: [] });
    resumed.close();
    await drain(alice);
  });

  test('Last-Event-ID also works as a query parameter, and a token as access_token', async () => {
    const stream = await openEventStream(`${service.url}/v1/inbox/stream?access_token=${bob.token}&last_event_id=unknown:7`);
    expect(stream.status).toBe(200);
    const id = await publish(alice, { to: 'topic:news', payload: 'q' });
    expect(JSON.parse((await stream.next())!.data).id).toBe(id);
    stream.close();
    await drain(bob);
    await drain(alice);
  });

  test('the stream endpoint answers a bad token with a 401 problem, never a 204', async () => {
    const stream = await openEventStream(`${service.url}/v1/inbox/stream`, { token: 'sy_nope' });
    expect(stream.status).toBe(401);
    expect(stream.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.parse(stream.body)).toMatchObject({ status: 401, code: 'TokenInvalid' });
  });

  test('an acked message is not delivered again after its visibility timeout', async () => {
    const id = await publish(alice, { to: 'user:bob', payload: 'direct' });
    const first = await bob.api.get('/v1/inbox?wait=5&visibility=1');
    expect(first.body.messages.map((m: { id: string }) => m.id)).toEqual([id]);
    await bob.api.post('/v1/inbox/ack', { receipts: [first.body.messages[0].receipt] });
    clockAheadMs += 1_300; // past the 1 s lease
    expect((await bob.api.get('/v1/inbox?wait=1')).body.messages).toEqual([]);
  });

  test('an unacked message comes back after its visibility timeout, with its receive count raised', async () => {
    const id = await publish(alice, { to: 'user:bob', payload: 'again' });
    const first = await bob.api.get('/v1/inbox?wait=5&visibility=1');
    expect(first.body.messages[0]).toMatchObject({ id, receive_count: 1 });
    expect((await bob.api.get('/v1/inbox?wait=0')).body.messages).toEqual([]); // leased
    clockAheadMs += 1_100; // past the 1 s lease
    const second = await bob.api.get('/v1/inbox?wait=0');
    expect(second.body.messages[0]).toMatchObject({ id, receive_count: 2 });
    // The first receipt is stale now; the second one acks.
    const stale = await bob.api.post('/v1/inbox/ack', { receipts: [first.body.messages[0].receipt] });
    expect(stale.body).toEqual({ acked: 0, not_acked: [first.body.messages[0].receipt] });
    expect((await bob.api.post('/v1/inbox/ack', { receipts: [second.body.messages[0].receipt] })).body.acked).toBe(1);
  });
});

/** Receives and acks whatever the client has, so the next test starts from an empty inbox. */
async function drain(client: TestClient): Promise<void> {
  for (;;) {
    const reply = await client.api.get('/v1/inbox?wait=1&max=100');
    if (reply.body.messages.length === 0) return;
    await client.api.post('/v1/inbox/ack', { receipts: reply.body.messages.map((m: { receipt: string }) => m.receipt) });
  }
}
