// The delivery rules over HTTP: nack, extend, dead letters with redrive and purge, queue policies
// and length limits, deduplication, request/reply, batch limits and SSE prefetch.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { openEventStream } from '../helpers/sse.ts';

let database: TestDatabase;
let service: TestService;
let alice: TestClient;
let bob: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_ROLES: 'router,routing,persistence,analytics,push,upkeep',
  }, { delivery: { statsMs: 100 } });
  alice = await registerClient(service.admin, 'alice');
  bob = await registerClient(service.admin, 'bob');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

type Message = { id: string; receipt: string; receive_count: number; payload: unknown };

async function receiveAll(client: TestClient, expected: number, query = ''): Promise<Message[]> {
  const got: Message[] = [];
  await eventually(async () => {
    const reply = await client.api.get(`/v1/inbox?wait=1&max=100${query}`);
    got.push(...reply.body.messages);
    return got.length >= expected ? true : undefined;
  }, 10_000, `${expected} messages`);
  return got;
}

async function drain(client: TestClient) {
  for (;;) {
    const reply = await client.api.get('/v1/inbox?max=100');
    if (reply.body.messages.length === 0) return;
    await client.api.post('/v1/inbox/ack', { receipts: reply.body.messages.map((m: Message) => m.receipt) });
  }
}

const setPolicy = (client: TestClient, policy: Record<string, unknown>) => service.admin.put(`/v1/admin/clients/${client.id}/queue-policy`, policy);

describe('nack and extend', () => {
  test('nack with a delay brings the message back later; extend keeps it away; stale receipts are listed', async () => {
    const id = await publish(alice, { to: 'user:bob', payload: 'n' });
    const [first] = await receiveAll(bob, 1);
    const extended = await bob.api.post('/v1/inbox/extend', { receipts: [first!.receipt], visibility: 60 });
    expect(extended.body).toEqual({ extended: 1, not_extended: [] });
    const nacked = await bob.api.post('/v1/inbox/nack', { receipts: [first!.receipt], delay_seconds: 0, reason: 'try again' });
    expect(nacked.body).toEqual({ nacked: 1, dead_lettered: [], not_nacked: [] });
    const [again] = await receiveAll(bob, 1);
    expect(again).toMatchObject({ id, receive_count: 2 });
    const stale = await bob.api.post('/v1/inbox/nack', { receipts: [first!.receipt] });
    expect(stale.body).toEqual({ nacked: 0, dead_lettered: [], not_nacked: [first!.receipt] });
    await bob.api.post('/v1/inbox/ack', { receipts: [again!.receipt] });
  });

  test('receive, ack, nack and extend take at most 100 at a time', async () => {
    expect((await bob.api.get('/v1/inbox?max=101')).status).toBe(400);
    const receipts = Array.from({ length: 101 }, () => '01a20000-0000-7000-8000-000000000000.1');
    for (const path of ['/v1/inbox/ack', '/v1/inbox/nack']) expect((await bob.api.post(path, { receipts })).status).toBe(400);
    expect((await bob.api.post('/v1/inbox/extend', { receipts, visibility: 5 })).status).toBe(400);
  });
});

describe('dead letters', () => {
  test('a client lists its own dead letters; the admin filters, redrives in batches with progress, and purges', async () => {
    expect((await setPolicy(bob, { max_receives: 1 })).body.effective).toMatchObject({ max_receives: 1, overflow: 'reject' });
    const ids = [];
    for (const reason of ['timeout talking to billing', 'bad payload', 'bad payload']) {
      const id = await publish(alice, { to: 'user:bob', payload: reason, headers: { why: reason } });
      ids.push(id);
      const [m] = await receiveAll(bob, 1);
      expect((await bob.api.post('/v1/inbox/nack', { receipts: [m!.receipt], reason })).body.dead_lettered).toEqual([id]);
    }
    const own = await bob.api.get('/v1/inbox/dead-letters');
    expect(own.body.dead_letters.map((d: { id: string }) => d.id).sort()).toEqual([...ids].sort());
    expect(own.body.dead_letters[0]).toMatchObject({ reason: 'max_receives', receive_count: 1, client_name: 'bob', from: 'user:alice' });
    expect((await alice.api.get('/v1/inbox/dead-letters')).body.dead_letters).toEqual([]);

    const filtered = await service.admin.get(`/v1/admin/dead-letters?client_id=${bob.id}&error=timeout`);
    expect(filtered.body.dead_letters.map((d: { id: string; payload: unknown }) => [d.id, d.payload])).toEqual([[ids[0], 'timeout talking to billing']]);
    const future = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
    expect((await service.admin.get(`/v1/admin/dead-letters?since=${future}`)).body.dead_letters).toEqual([]);

    const step = await service.admin.post('/v1/admin/dead-letters/redrive', { client_id: bob.id, error: 'bad payload', batch_size: 1, max_batches: 1 });
    expect(step.body).toMatchObject({ moved: 1, batches: 1, remaining: 1, done: false });
    const rest = await service.admin.post('/v1/admin/dead-letters/redrive', { client_id: bob.id, error: 'bad payload', batch_size: 1 });
    expect(rest.body).toMatchObject({ moved: 1, remaining: 0, done: true });
    const back = await receiveAll(bob, 2);
    expect(back.map((m) => m.id).sort()).toEqual([ids[1], ids[2]].sort());
    expect(back.every((m) => m.receive_count === 1)).toBe(true);
    await bob.api.post('/v1/inbox/ack', { receipts: back.map((m) => m.receipt) });

    const purged = await service.admin.post('/v1/admin/dead-letters/purge', { client_id: bob.id });
    expect(purged.body).toMatchObject({ moved: 1, remaining: 0, done: true });
    await setPolicy(bob, {});
  });

  test('pages of dead letters buried by one statement, so with one dead_at, list each exactly once', async () => {
    const erin = await registerClient(service.admin, 'erin');
    await setPolicy(erin, { max_receives: 1 });
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push(await publish(alice, { to: 'user:erin', payload: i }));
    const received = await receiveAll(erin, 7);
    const nacked = await erin.api.post('/v1/inbox/nack', { receipts: received.map((m) => m.receipt), reason: 'all at once' });
    expect(nacked.body.dead_lettered).toHaveLength(7);

    const pages = async (get: (before: string) => Promise<{ body: { dead_letters: { id: string; dead_at: string }[]; next_before: string | null } }>) => {
      const seen: { id: string; dead_at: string }[] = [];
      const sizes: number[] = [];
      let before = '';
      for (;;) {
        const page = (await get(before)).body;
        seen.push(...page.dead_letters);
        sizes.push(page.dead_letters.length);
        if (!page.next_before) return { seen, sizes };
        before = `&before=${encodeURIComponent(page.next_before)}`;
      }
    };
    const own = await pages((before) => erin.api.get(`/v1/inbox/dead-letters?limit=3${before}`));
    expect(new Set(own.seen.map((d) => d.dead_at)).size).toBe(1); // the ties this is about
    expect(own.sizes).toEqual([3, 3, 1]);
    expect(own.seen.map((d) => d.id).sort()).toEqual([...ids].sort());
    const admin = await pages((before) => service.admin.get(`/v1/admin/dead-letters?client_id=${erin.id}&limit=2${before}`));
    expect(admin.sizes).toEqual([2, 2, 2, 1]);
    expect(admin.seen.map((d) => d.id)).toEqual(own.seen.map((d) => d.id)); // one order for both

    const deadAt = own.seen[0]!.dead_at;
    const later = new Date(Date.parse(deadAt) + 1).toISOString();
    expect((await erin.api.get(`/v1/inbox/dead-letters?before=${encodeURIComponent(later)}`)).body.dead_letters).toHaveLength(7);
    expect((await erin.api.get(`/v1/inbox/dead-letters?before=${encodeURIComponent(new Date(Date.parse(deadAt) - 1).toISOString())}`)).body.dead_letters).toEqual([]);
    expect((await erin.api.get('/v1/inbox/dead-letters?before=2026-01-01T00:00:00.000000Z~1~not-a-uuid')).status).toBe(400);
  });

  test('a redrive leaves the dead letters of a revoked client where they are', async () => {
    const fred = await registerClient(service.admin, 'fred');
    await setPolicy(fred, { max_receives: 1 });
    const id = await publish(alice, { to: 'user:fred', payload: 'never read' });
    const [m] = await receiveAll(fred, 1);
    expect((await fred.api.post('/v1/inbox/nack', { receipts: [m!.receipt] })).body.dead_lettered).toEqual([id]);
    expect((await service.admin.post(`/v1/admin/clients/${fred.id}/revoke`, {})).status).toBe(200);

    const redriven = await service.admin.post('/v1/admin/dead-letters/redrive', { client_id: fred.id });
    expect(redriven.body).toMatchObject({ moved: 0, remaining: 1, done: true });
    const queued = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where client_id = ${fred.id}`.execute(database.db);
    expect(queued.rows[0]!.n).toBe(0);
    const listed = await service.admin.get(`/v1/admin/dead-letters?client_id=${fred.id}`);
    expect(listed.body.dead_letters.map((d: { id: string }) => d.id)).toEqual([id]);
  });

  test('a client redrives its own dead letters only', async () => {
    await setPolicy(alice, { max_receives: 1 });
    const id = await publish(bob, { to: 'user:alice', payload: 'x' });
    const [m] = await receiveAll(alice, 1);
    await alice.api.post('/v1/inbox/nack', { receipts: [m!.receipt] });
    expect((await bob.api.post('/v1/inbox/dead-letters/redrive', {})).body.moved).toBe(0);
    expect((await alice.api.post('/v1/inbox/dead-letters/redrive', {})).body).toMatchObject({ moved: 1, done: true });
    expect((await receiveAll(alice, 1))[0]!.id).toBe(id);
    await setPolicy(alice, {});
    await drain(alice);
  });
});

describe('queue policies and length limits', () => {
  test('a policy shows its own values and the effective ones; unknown clients are 404', async () => {
    const reply = await service.admin.get(`/v1/admin/clients/${alice.id}/queue-policy`);
    expect(reply.body).toMatchObject({ client_id: alice.id, policy: { max_receives: null }, effective: { max_receives: 10, max_length: 1_000_000 } });
    expect((await service.admin.get('/v1/admin/clients/999999/queue-policy')).status).toBe(404);
    expect((await setPolicy(alice, { overflow: 'sideways' })).status).toBe(400);
  });

  test('a full queue with the reject policy makes publishers to it wait with a 429, until it drains', async () => {
    const carol = await registerClient(service.admin, 'carol');
    await setPolicy(carol, { max_length: 2, overflow: 'reject' });
    await publish(alice, { to: 'user:carol', payload: 1 });
    await publish(alice, { to: 'user:carol', payload: 2 });
    const refused = await eventually(async () => {
      const reply = await alice.api.post('/v1/messages', { to: 'user:carol', payload: 3 });
      return reply.status === 429 ? reply : undefined;
    }, 10_000, 'a 429');
    expect(refused.body).toMatchObject({ code: 'QueueFull', errors: [{ path: 'to' }] });
    expect(refused.headers.get('retry-after')).toBe('5');
    await drain(carol);
    await eventually(async () => ((await alice.api.post('/v1/messages', { to: 'user:carol', payload: 4 })).status === 202 ? true : undefined), 10_000, 'accepted again');
  });

  test('a full queue with the dead_letter policy moves its oldest messages to dead letters', async () => {
    const dave = await registerClient(service.admin, 'dave');
    await setPolicy(dave, { max_length: 2, overflow: 'dead_letter' });
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await publish(alice, { to: 'user:dave', payload: i }));
    const dead = await eventually(async () => {
      const reply = await dave.api.get('/v1/inbox/dead-letters');
      return reply.body.dead_letters.length === 2 ? reply.body.dead_letters : undefined;
    }, 10_000, 'two dead letters');
    expect(dead.map((d: { id: string }) => d.id).sort()).toEqual(ids.slice(0, 2).sort());
    expect(dead.every((d: { reason: string }) => d.reason === 'overflow')).toBe(true);
    expect((await receiveAll(dave, 2)).map((m) => m.id).sort()).toEqual(ids.slice(2).sort());
  });
});

describe('deduplication', () => {
  test('a repeated dedup_id returns the first id and publishes nothing, also after delivery and ack', async () => {
    const first = await alice.api.post('/v1/messages', { to: 'user:bob', payload: 'once', dedup_id: 'order-17' });
    const again = await alice.api.post('/v1/messages', { to: 'user:bob', payload: 'twice', dedup_id: 'order-17' });
    expect(again.body).toEqual({ id: first.body.id, duplicate: true });
    const got = await receiveAll(bob, 1);
    expect(got.map((m) => m.payload)).toEqual(['once']);
    await bob.api.post('/v1/inbox/ack', { receipts: got.map((m) => m.receipt) });
    const later = await alice.api.post('/v1/messages', { to: 'user:bob', payload: 'thrice', dedup_id: 'order-17' });
    expect(later.body).toEqual({ id: first.body.id, duplicate: true });
    expect((await bob.api.get('/v1/inbox?wait=1')).body.messages).toEqual([]);
  });

  test('repeats inside one batch collapse too, and another sender may use the same dedup_id', async () => {
    const batch = await alice.api.post('/v1/messages/batch', {
      messages: [{ to: 'user:bob', payload: 1, dedup_id: 'b' }, { to: 'user:bob', payload: 2, dedup_id: 'b' }, { to: 'user:bob', payload: 3 }],
    });
    expect(batch.body.ids[0]).toBe(batch.body.ids[1]);
    expect(batch.body.duplicates).toEqual([1]);
    const other = await bob.api.post('/v1/messages', { to: 'user:alice', payload: 4, dedup_id: 'b' });
    expect(other.body.duplicate).toBeUndefined();
    await receiveAll(bob, 2).then((m) => bob.api.post('/v1/inbox/ack', { receipts: m.map((x) => x.receipt) }));
    await drain(alice);
  });

  test('after the window a dedup_id publishes again', async () => {
    const first = await alice.api.post('/v1/messages', { to: 'user:bob', payload: 'w1', dedup_id: 'window' });
    await sql`update switchyard.dedup set expires_at = now() - interval '1 second' where dedup_id = 'window'`.execute(database.db);
    const second = await alice.api.post('/v1/messages', { to: 'user:bob', payload: 'w2', dedup_id: 'window' });
    expect(second.body.id).not.toBe(first.body.id);
    await receiveAll(bob, 2).then((m) => bob.api.post('/v1/inbox/ack', { receipts: m.map((x) => x.receipt) }));
  });
});

describe('request/reply', () => {
  test('a request waits for the reply published to its reply_to with its correlation id', async () => {
    const responder = (async () => {
      const [request] = await receiveAll(bob, 1) as (Message & { reply_to: string; correlation_id: string })[];
      await bob.api.post('/v1/messages', { to: request!.reply_to, correlation_id: request!.correlation_id, payload: { answer: 42 } });
      await bob.api.post('/v1/inbox/ack', { receipts: [request!.receipt] });
    })();
    const reply = await alice.api.post('/v1/requests', { to: 'user:bob', payload: { question: 'life' }, timeout_seconds: 10 });
    await responder;
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ reply: { from: 'user:bob', to: 'user:alice', payload: { answer: 42 } } });
    await drain(alice);
  });

  test('without a reply in time it answers 504 with the request id', async () => {
    const reply = await alice.api.post('/v1/requests', { to: 'topic:nobody-listens', payload: 1, timeout_seconds: 0.5 });
    expect(reply.status).toBe(504);
    expect(reply.body).toMatchObject({ code: 'ReplyTimeout', message_id: expect.any(String), correlation_id: expect.any(String) });
  });
});

test('an SSE stream holds at most its prefetch unacked; an ack lets the next one through', async () => {
  await drain(bob);
  for (let i = 0; i < 5; i++) await publish(alice, { to: 'user:bob', payload: i });
  const stream = await openEventStream(`${service.url}/v1/inbox/stream?prefetch=2`, { token: bob.token });
  const got = [JSON.parse((await stream.next())!.data), JSON.parse((await stream.next())!.data)];
  expect(await stream.next(1_000)).toBeUndefined();
  await bob.api.post('/v1/inbox/ack', { receipts: [got[0].receipt] });
  expect(JSON.parse((await stream.next(3_000))!.data).payload).toBe(2);
  stream.close();
});
