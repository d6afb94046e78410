// @switchyard/client against a real Switchyard on a real PostgreSQL: every method, each transport,
// reconnects through a proxy that drops or swallows the connection, resume, prefetch, abort, token
// rotation, fallback, the circuit breaker and close().
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { eventually, registerClient, type TestClient } from '../../test/helpers/factories.ts';
import { startTestService, type TestService } from '../../test/helpers/service.ts';
import { SwitchyardClient, SwitchyardError, type Delivery, type StateChange, type TransportName } from '../src/index.ts';
import { startProxy, type TestProxy } from './proxy.ts';

let database: TestDatabase;
let service: TestService;
let sender: TestClient;
let counter = 0;
const clients: SwitchyardClient[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, { SWITCHYARD_RATE_LIMIT_PER_SECOND: '0', SWITCHYARD_SSE_HEARTBEAT_MS: '300' });
  sender = await registerClient(service.admin, 'sender');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await service?.stop();
  await database?.drop();
});

function connect(token: string | ((o: { refresh: boolean }) => string), url = service.url): SwitchyardClient {
  const client = new SwitchyardClient({ url, token, retry: { baseMs: 50, capMs: 500 } });
  clients.push(client);
  return client;
}

async function receiver(): Promise<TestClient> {
  return registerClient(service.admin, `r${counter++}`);
}

async function sendTo(to: TestClient, count: number, from = connect(sender.token)): Promise<string[]> {
  const { ids } = await from.publishBatch(Array.from({ length: count }, (_, i) => ({ to: `user:${to.name}`, payload: { i } })));
  return ids;
}

/** Deliveries of this client still in its queue (unacked), as the database holds them. */
async function queued(client: TestClient): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where client_id = ${client.id}`.execute(database.db);
  return rows[0]!.n;
}

const until = (check: () => boolean, what: string, ms = 10_000) => eventually(async () => (check() ? true : undefined), ms, what);

test('publish and publishBatch answer with ids; a publish retried after a lost answer is committed once', async () => {
  const to = await receiver();
  const client = connect(sender.token);
  const { id } = await client.publish({ to: `user:${to.name}`, payload: { hello: 'world' } });
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect((await client.publishBatch([{ to: `user:${to.name}`, payload: 1 }, { to: `user:${to.name}`, payload: 2 }])).ids).toHaveLength(2);

  // The first answer is lost after the service committed: the retry carries the same Idempotency-Key.
  let calls = 0;
  const flaky = new SwitchyardClient({
    url: service.url, token: sender.token, retry: { baseMs: 10 },
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (++calls === 1) throw new TypeError('connection reset');
      return response;
    },
  });
  const again = await flaky.publish({ to: `user:${to.name}`, payload: 'once' });
  expect(calls).toBe(2);
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from switchyard.message where id = ${again.id}::uuid`.execute(database.db);
  expect(rows[0]!.n).toBe(1);
  await until(() => true, 'noop');
  expect(await eventually(async () => ((await queued(to)) === 4 ? 4 : undefined), 10_000, 'four deliveries')).toBe(4);
});

test('a refused publish rejects with the service problem, and 429s are retried after Retry-After', async () => {
  const client = connect(sender.token);
  const error = await client.publish({ to: 'nowhere', payload: 1 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SwitchyardError);
  expect(error).toMatchObject({ status: 400, code: 'ValidationFailed' });

  const limited = await startTestService(database.url, { SWITCHYARD_RATE_LIMIT_PER_SECOND: '1', SWITCHYARD_RATE_LIMIT_BURST: '1' });
  try {
    const slow = new SwitchyardClient({ url: limited.url, token: sender.token, retry: { baseMs: 10, capMs: 20 } });
    await slow.publish({ to: 'user:sender', payload: 1 });
    const started = Date.now();
    await slow.publish({ to: 'user:sender', payload: 2 }); // 429 first, with Retry-After: 1
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  } finally {
    await limited.stop();
  }
});

describe.each(['ws', 'sse', 'poll'] as TransportName[])('consume over %s', (transport) => {
  test('handles every message and acks it; the queue ends empty', async () => {
    const me = await receiver();
    const client = connect(me.token);
    const seen: string[] = [];
    const consumer = client.consume((m) => void seen.push(m.id), { transport, fallback: false, prefetch: 5, concurrency: 2 });
    const ids = await sendTo(me, 12);
    await until(() => seen.length >= 12, 'twelve messages');
    expect(consumer.transport).toBe(transport);
    expect([...seen].sort()).toEqual([...ids].sort());
    await eventually(async () => ((await queued(me)) === 0 ? true : undefined), 5_000, 'all acked');
    await consumer.close();
  });

  test('for await over messages() acks each message when the loop moves on', async () => {
    const me = await receiver();
    const client = connect(me.token);
    const ids = await sendTo(me, 3);
    const got: string[] = [];
    for await (const m of client.messages({ transport, fallback: false })) {
      got.push(m.id);
      if (got.length === 3) break;
    }
    expect(got).toEqual(ids);
    await eventually(async () => ((await queued(me)) === 0 ? true : undefined), 5_000, 'all acked');
  });
});

describe.each(['ws', 'sse'] as TransportName[])('reconnect over %s', (transport) => {
  test('after the connection drops nothing is lost; a message comes twice only after its lease ran out, and dedup hides that', async () => {
    const me = await receiver();
    const proxy = await startProxy(service.url);
    const client = connect(me.token, proxy.url);
    const handled: { id: string; receiveCount: number }[] = [];
    const deduped: string[] = [];
    const states: StateChange[] = [];
    client.onState((s) => states.push(s));
    const options = { transport, fallback: false, prefetch: 20, visibility: 1 } as const;
    const plain = client.consume((m) => void handled.push({ id: m.id, receiveCount: m.receive_count }), options);
    const first = await sendTo(me, 20);
    await until(() => handled.length >= 10, 'some handled');
    proxy.dropAll();
    const second = await sendTo(me, 20);
    await until(() => new Set(handled.map((h) => h.id)).size >= 40, 'all forty', 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // leases of 1 s have run out: redeliveries, if any, came
    expect([...new Set(handled.map((h) => h.id))].sort()).toEqual([...first, ...second].sort()); // none lost
    // A copy with a higher receive count is a new receive: the lease ran out (nothing here nacks).
    // A resume re-sends under the same count (that receive is not counted), and only what was unseen.
    const firstSeen = new Map<string, number>();
    for (const h of handled) {
      const earlier = firstSeen.get(h.id);
      if (earlier === undefined) firstSeen.set(h.id, h.receiveCount);
      else expect(h.receiveCount).toBeGreaterThan(earlier);
    }
    expect(states.some((s) => s.state === 'reconnecting')).toBe(true);
    await plain.close();

    // The same with dedup: the handler sees each message once, whatever the network does.
    const again = await sendTo(me, 20);
    const deduping = client.consume((m) => void deduped.push(m.id), { ...options, dedup: true });
    await until(() => deduped.length >= 5, 'some handled');
    proxy.dropAll();
    await until(() => new Set(deduped).size >= 20, 'all twenty', 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect([...deduped].sort()).toEqual([...again].sort()); // none lost, none twice
    await deduping.close();
    await proxy.close();
  });

  test('resume: what was sent into a dead connection comes again at once on reconnect, long before its lease ends', async () => {
    const me = await receiver();
    const proxy = await startProxy(service.url);
    const client = connect(me.token, proxy.url);
    const handled = new Set<string>();
    const consumer = client.consume((m) => void handled.add(m.id), { transport, fallback: false, prefetch: 50, visibility: 600 });
    await sendTo(me, 2);
    await until(() => handled.size === 2, 'two before');
    proxy.blackhole = true; // what the service sends now is lost on the way
    const lost = await sendTo(me, 5);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(lost.some((id) => handled.has(id))).toBe(false);
    proxy.blackhole = false;
    proxy.dropAll();
    await until(() => lost.every((id) => handled.has(id)), 'the lost five, resumed', 8_000);
    await consumer.close();
    await proxy.close();
  });
});

test('prefetch bounds what the service leases to a consumer while its handlers are busy', async () => {
  const me = await receiver();
  const client = connect(me.token);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let running = 0;
  let most = 0;
  const consumer = client.consume(async () => {
    most = Math.max(most, ++running);
    await gate;
    running -= 1;
  }, { transport: 'ws', prefetch: 3, concurrency: 2 });
  await sendTo(me, 10);
  await until(() => running === 2, 'two running');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where client_id = ${me.id} and visible_at > now()`.execute(database.db);
  expect(rows[0]!.n).toBe(3);
  expect(most).toBe(2);
  release();
  await eventually(async () => ((await queued(me)) === 0 ? true : undefined), 10_000, 'all handled');
  await consumer.close();
});

test('a handler that runs longer than the lease keeps it: the message is not delivered twice', async () => {
  const me = await receiver();
  const client = connect(me.token);
  const counts: number[] = [];
  const consumer = client.consume(async (m) => {
    counts.push(m.receive_count);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
  }, { transport: 'ws', visibility: 1, concurrency: 2 });
  await sendTo(me, 1);
  await eventually(async () => (counts.length === 1 && (await queued(me)) === 0 ? true : undefined), 10_000, 'handled once and acked');
  expect(counts).toEqual([1]);
  await consumer.close();
});

test('a throwing handler nacks; the circuit breaker stops pulling for its cooldown', async () => {
  const me = await receiver();
  const client = connect(me.token);
  const states: StateChange[] = [];
  client.onState((s) => states.push(s));
  const calls: number[] = [];
  const consumer = client.consume(() => {
    calls.push(Date.now());
    throw new Error('downstream is down');
  }, { transport: 'ws', nackDelaySeconds: 0, circuitBreaker: { failures: 3, cooldownMs: 1_500 } });
  await sendTo(me, 1);
  await until(() => calls.length >= 3, 'three failures');
  await until(() => states.some((s) => s.reason === 'CircuitOpen'), 'the breaker opens');
  const opened = Date.now();
  await until(() => calls.length >= 4, 'a call after the cooldown', 10_000);
  expect(calls[3]! - opened).toBeGreaterThanOrEqual(1_000);
  const { rows } = await sql<{ last_error: string }>`select last_error from switchyard.delivery where client_id = ${me.id}`.execute(database.db);
  expect(rows[0]?.last_error).toBe('downstream is down');
  await consumer.close();
});

test('close() lets running handlers finish and flushes their acks', async () => {
  const me = await receiver();
  const client = connect(me.token);
  let started = false;
  let finished = false;
  client.consume(async () => {
    started = true;
    await new Promise((resolve) => setTimeout(resolve, 500));
    finished = true;
  }, { transport: 'ws' });
  await sendTo(me, 1);
  await until(() => started, 'the handler started');
  await client.close();
  expect(finished).toBe(true);
  expect(await queued(me)).toBe(0);
});

test('AbortSignal: an aborted consumer stops, and an aborted publish rejects without publishing', async () => {
  const me = await receiver();
  const client = connect(me.token);
  const abort = new AbortController();
  const consumer = client.consume(() => undefined, { transport: 'sse', signal: abort.signal });
  await new Promise((resolve) => setTimeout(resolve, 300));
  abort.abort();
  await consumer.done;
  const aborted = new AbortController();
  aborted.abort();
  await expect(client.publish({ to: `user:${me.name}`, payload: 1 }, { signal: aborted.signal })).rejects.toThrow();
  expect(await queued(me)).toBe(0);
});

test('a token rotated mid-stream: the consumer asks its provider for the new one and goes on', async () => {
  const me = await receiver();
  let token = me.token;
  const asked: boolean[] = [];
  const client = connect(({ refresh }) => {
    asked.push(refresh);
    return token;
  });
  const states: StateChange[] = [];
  client.onState((s) => states.push(s));
  const seen: string[] = [];
  const consumer = client.consume((m) => void seen.push(m.id), { transport: 'ws', fallback: false });
  await sendTo(me, 1);
  await until(() => seen.length === 1, 'one before');
  const rotated = await service.admin.post(`/v1/admin/clients/${me.id}/rotate`);
  token = rotated.body.token;
  await until(() => states.some((s) => s.reason === 'TokenInvalid'), 'the stream ends with TokenInvalid');
  const [after] = await sendTo(me, 1);
  await until(() => seen.includes(after!), 'one after the rotation');
  expect(asked).toContain(true);
  await consumer.close();
});

test('a revoked client: the consumer stops with closed and rejects done with the problem', async () => {
  const me = await receiver();
  const client = connect(me.token);
  const states: StateChange[] = [];
  client.onState((s) => states.push(s));
  const consumer = client.consume(() => undefined, { transport: 'ws' });
  await until(() => states.some((s) => s.state === 'open'), 'open');
  await service.admin.post(`/v1/admin/clients/${me.id}/revoke`);
  await expect(consumer.done).rejects.toMatchObject({ status: 401 });
  expect(states.at(-1)).toMatchObject({ state: 'closed' });
});

test('a proxy that refuses WebSockets makes the consumer fall back to SSE, and one refusing streams to long poll', async () => {
  const me = await receiver();
  const proxy = await startProxy(service.url);
  proxy.refuse = /upgrade: websocket/i;
  const client = connect(me.token, proxy.url);
  const seen: string[] = [];
  const consumer = client.consume((m) => void seen.push(m.id), { transport: 'ws' });
  await sendTo(me, 1);
  await until(() => seen.length === 1, 'over sse');
  expect(consumer.transport).toBe('sse');
  await consumer.close();

  proxy.refuse = /^GET \/v1\/inbox\/(ws|stream)/;
  const second = client.consume((m) => void seen.push(m.id), { transport: 'ws' });
  await sendTo(me, 1);
  await until(() => seen.length === 2, 'over long poll');
  expect(second.transport).toBe('poll');
  await second.close();
  await proxy.close();
});

test('request() publishes and waits for the reply a consumer sends back', async () => {
  const asker = await receiver();
  const responder = await receiver();
  const server = connect(responder.token);
  const consumer = server.consume(async (m: Delivery) => {
    await server.publish({ to: m.reply_to!, correlation_id: m.correlation_id!, payload: { answer: (m.payload as { q: number }).q * 2 } });
  }, { transport: 'ws' });
  const reply = await connect(asker.token).request(`user:${responder.name}`, { q: 21 }, { timeout: 10 });
  expect(reply.reply.payload).toEqual({ answer: 42 });
  await consumer.close();
});

test('ack, nack and extend by receipt answer like the HTTP routes', async () => {
  const me = await receiver();
  const client = connect(me.token);
  await sendTo(me, 3);
  const receipts: string[] = [];
  while (receipts.length < 3) {
    const { body } = await me.api.get(`/v1/inbox?wait=5&max=${3 - receipts.length}&visibility=60`);
    receipts.push(...body.messages.map((m: { receipt: string }) => m.receipt));
  }
  const [a, b, c] = receipts as [string, string, string];
  expect(await client.extend([a], 120)).toEqual({ extended: 1, not_extended: [] });
  expect(await client.nack([b], { delaySeconds: 60 })).toEqual({ nacked: 1, dead_lettered: [], not_nacked: [] });
  const unknown = '00000000-0000-7000-8000-000000000000.1';
  expect(await client.ack([a, c, unknown])).toEqual({ acked: 2, not_acked: [unknown] });
});
