// The delivery queue's rules, one by one, at the repository level with an injected clock: leases,
// extend, nack and backoff, max receives and dead letters, priorities with aging, delays, expiry,
// FIFO groups, delivery rate and SSE prefetch.
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { ackDeliveries, extendLeases, nackDeliveries } from '../../src/inbox/inbox.repository.ts';
import { replaceQueuePolicy, type QueuePolicyRow } from '../../src/inbox/queue-policy.repository.ts';
import { deleteExpiredDeliveries } from '../../src/upkeep/expiry.repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { AGING_MS, at, createQueueClient, newMessage, publishAndRoute, receipt, receive, route } from '../helpers/queue.ts';

let database: TestDatabase;
let db: Db;
let client: string;
let n = 0;

const defaults = { maxReceives: 10, backoffBaseMs: 1_000, backoffCapMs: 60_000 };
const noPolicy: QueuePolicyRow = {
  max_receives: null, backoff_base_ms: null, backoff_cap_ms: null, max_length: null, overflow: null, delivery_rate: null, delivery_burst: null,
};

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
});

afterAll(async () => {
  await database?.drop();
});

beforeEach(async () => {
  client = await createQueueClient(db, `q${++n}`);
});

const topic = () => `topic:q${n}`;
const policy = (p: Partial<QueuePolicyRow>) => db.transaction().execute((tx) => replaceQueuePolicy(tx, client, { ...noPolicy, ...p }));

describe('leases', () => {
  test('a received message is invisible until its lease runs out, then comes back with its receive count kept', async () => {
    const [id] = await publishAndRoute(db, [newMessage(topic())]);
    const first = await receive(db, client, { visibilitySeconds: 30 });
    expect(first.delivered.map((r) => [r.id, r.receive_count])).toEqual([[id, 1]]);
    expect((await receive(db, client, { now: at(29_000) })).delivered).toEqual([]);
    const again = await receive(db, client, { now: at(31_000) });
    expect(again.delivered.map((r) => [r.id, r.receive_count])).toEqual([[id, 2]]);
  });

  test('extend moves the deadline; the receipt of an earlier delivery extends and acks nothing', async () => {
    const [id] = await publishAndRoute(db, [newMessage(topic())]);
    const first = (await receive(db, client, { visibilitySeconds: 30 })).delivered[0]!;
    expect(await extendLeases(db, client, [receipt(first)], 100)).toEqual([id]);
    expect((await receive(db, client, { now: at(60_000) })).delivered).toEqual([]);
    const second = (await receive(db, client, { now: at(101_000) })).delivered[0]!;
    expect(second.receive_count).toBe(2);
    expect(await extendLeases(db, client, [receipt(first)], 100)).toEqual([]);
    expect(await ackDeliveries(db, client, [receipt(first)])).toEqual([]);
    expect(await ackDeliveries(db, client, [receipt(second)])).toEqual([id]);
  });

  test('an ack, and an SSE auto-ack, leave a delivery receipt: who received which message, how often, and when it was acked', async () => {
    const ids = await publishAndRoute(db, [newMessage(topic()), newMessage(topic())]);
    const row = (await receive(db, client, { max: 1 })).delivered[0]!;
    const [acked, auto] = [row.id, ids.find((id) => id !== row.id)];
    await ackDeliveries(db, client, [receipt(row)]);
    await receive(db, client, { autoAck: true, lease: { owner: 'dashboard', seqBefore: 0, prefetch: 100 } });
    const receipts = await sql<{ message_id: string; receive_count: number; received: boolean; acked: boolean }>`
      select message_id, receive_count, first_received_at is not null as received, acked_at >= first_received_at as acked
      from switchyard.delivery_receipt where client_id = ${client} order by acked_at`.execute(db);
    expect(receipts.rows).toEqual([
      { message_id: acked, receive_count: 1, received: true, acked: true },
      { message_id: auto, receive_count: 1, received: true, acked: true },
    ]);
  });
});

describe('nack', () => {
  test('with a delay the message comes back after it', async () => {
    const [id] = await publishAndRoute(db, [newMessage(topic())]);
    const first = (await receive(db, client)).delivered[0]!;
    await nackDeliveries(db, client, [receipt(first)], { delaySeconds: 20, reason: undefined, defaults });
    expect((await receive(db, client, { now: at(19_000) })).delivered).toEqual([]);
    expect((await receive(db, client, { now: at(21_000) })).delivered.map((r) => r.id)).toEqual([id]);
  });

  test('without a delay it backs off exponentially, with jitter, up to the cap of the client policy', async () => {
    await policy({ backoff_base_ms: 10_000, backoff_cap_ms: 40_000, max_receives: 100 });
    await publishAndRoute(db, [newMessage(topic())]);
    const delays: number[] = [];
    let now = new Date();
    for (let attempt = 1; attempt <= 4; attempt++) {
      const row = (await receive(db, client, { now })).delivered[0]!;
      await nackDeliveries(db, client, [receipt(row)], { delaySeconds: undefined, reason: undefined, defaults });
      const visible = await sql<{ s: number }>`
        select extract(epoch from visible_at - now())::float8 as s from switchyard.delivery where client_id = ${client}`.execute(db);
      delays.push(visible.rows[0]!.s);
      now = at(visible.rows[0]!.s * 1000 + 1000);
    }
    const bounds = [[5, 10], [10, 20], [20, 40], [20, 40]];
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(bounds[i]![0]! - 0.5);
      expect(delay).toBeLessThanOrEqual(bounds[i]![1]! + 0.5);
    });
  });
});

describe('dead letters', () => {
  test('after max_receives the delivery moves to dead letters with its attempts, receive times and last error', async () => {
    await policy({ max_receives: 2 });
    const [id] = await publishAndRoute(db, [newMessage(topic(), { payload: { bad: true }, headers: { h: '1' } })]);
    const first = (await receive(db, client)).delivered[0]!;
    await nackDeliveries(db, client, [receipt(first)], { delaySeconds: 0, reason: 'could not parse', defaults });
    const second = (await receive(db, client)).delivered[0]!;
    expect(second.receive_count).toBe(2);
    const third = await receive(db, client, { now: at(31_000) }); // the second lease ran out
    expect(third.delivered).toEqual([]);
    expect(third.deadLettered).toEqual([id]);
    const dead = await sql<Record<string, unknown>>`
      select message_id, reason, receive_count, first_received_at is not null as first, last_received_at > first_received_at as later,
             last_error, payload, headers
      from switchyard.dead_letters where client_id = ${client}`.execute(db);
    expect(dead.rows).toEqual([{
      message_id: id, reason: 'max_receives', receive_count: 2, first: true, later: true,
      last_error: 'could not parse', payload: { bad: true }, headers: { h: '1' },
    }]);
  });

  test('a nack of the last allowed receive dead-letters at once', async () => {
    await policy({ max_receives: 1 });
    const [id] = await publishAndRoute(db, [newMessage(topic())]);
    const row = (await receive(db, client)).delivered[0]!;
    expect(await nackDeliveries(db, client, [receipt(row)], { delaySeconds: 0, reason: 'no', defaults })).toEqual([{ message_id: id, outcome: 'dead_lettered' }]);
    expect((await receive(db, client)).delivered).toEqual([]);
  });

  test('redrive in SQL puts them back, visible at once, with a fresh receive count and the same id', async () => {
    await policy({ max_receives: 1 });
    const ids = await publishAndRoute(db, [newMessage(topic()), newMessage(topic()), newMessage(topic())]);
    for (const row of (await receive(db, client)).delivered) {
      await nackDeliveries(db, client, [receipt(row)], { delaySeconds: 0, reason: row.id === ids[1] ? 'timeout talking to x' : 'other', defaults });
    }
    const one = await sql<{ n: number }>`select switchyard.redrive_dead_letters(client_id => ${client}::bigint, error_like => 'TIMEOUT') as n`.execute(db);
    expect(one.rows[0]!.n).toBe(1);
    expect((await receive(db, client)).delivered.map((r) => [r.id, r.receive_count])).toEqual([[ids[1], 1]]);
    const rest = await sql<{ n: number }>`select switchyard.redrive_dead_letters(client_id => ${client}::bigint, batch_size => 1) as n`.execute(db);
    expect(rest.rows[0]!.n).toBe(1); // bounded batches
    const purged = await sql<{ n: number }>`select switchyard.purge_dead_letters(client_id => ${client}::bigint) as n`.execute(db);
    expect(purged.rows[0]!.n).toBe(1);
  });
});

describe('priority', () => {
  test('higher priorities go first, but a priority-0 message waits at most 9 aging steps behind them', async () => {
    const base = Date.now() - 60_000;
    const messages = [
      newMessage(topic(), { priority: 0, payload: 'p0' }),
      newMessage(topic(), { priority: 9, payload: 'p9 sent 8.9 steps later: goes first' }),
      newMessage(topic(), { priority: 9, payload: 'p9 sent 9.1 steps later: waits' }),
      newMessage(topic(), { priority: 5, payload: 'p5 sent 4 steps later: goes first' }),
    ];
    const offsets = [0, 8.9, 9.1, 4].map((steps) => steps * AGING_MS);
    for (const [i, m] of messages.entries()) {
      await sql`insert into switchyard.message (id, lane, sender, to_address, conversation, payload, priority, created_at)
                values (${m.id}, 0, 'user:t', ${m.to_address}, ${m.to_address}, ${JSON.stringify(m.payload)}::jsonb,
                        ${m.priority}, ${new Date(base + offsets[i]!)})`.execute(db);
    }
    await route(db);
    const order = (await receive(db, client, { max: 10 })).delivered.map((r) => r.payload);
    // sort keys in aging steps: p5 4 - 5 = -1, p9 8.9 - 9 = -0.1, p0 0, p9 9.1 - 9 = 0.1
    expect(order).toEqual([
      'p5 sent 4 steps later: goes first', 'p9 sent 8.9 steps later: goes first', 'p0', 'p9 sent 9.1 steps later: waits',
    ]);
  });

  test('a deliver_at in the past counts as the time of publish: it never jumps ahead of priority 9', async () => {
    const [urgent] = await publishAndRoute(db, [newMessage(topic(), { priority: 9, payload: 'p9' })]);
    const [backdated] = await publishAndRoute(db, [newMessage(topic(), { priority: 0, payload: 'p0 an hour ago', deliver_at: at(-3_600_000).toISOString() })]);
    const order = (await receive(db, client, { max: 10 })).delivered.map((r) => r.id);
    expect(order).toEqual([urgent, backdated]);
  });
});

describe('delays and expiry', () => {
  test('delay_seconds and deliver_at keep a message invisible until then', async () => {
    const [delayed, scheduled] = await publishAndRoute(db, [
      newMessage(topic(), { delay_seconds: 60 }),
      newMessage(topic(), { deliver_at: at(120_000).toISOString() }),
    ]);
    expect((await receive(db, client)).delivered).toEqual([]);
    const first = (await receive(db, client, { now: at(61_000) })).delivered;
    expect(first.map((r) => r.id)).toEqual([delayed]);
    await ackDeliveries(db, client, [receipt(first[0]!)]);
    expect((await receive(db, client, { now: at(119_000) })).delivered).toEqual([]);
    expect((await receive(db, client, { now: at(121_000) })).delivered.map((r) => r.id)).toEqual([scheduled]);
  });

  test('an expired message is never delivered: a receive drops it, and so does the expiry sweep', async () => {
    const [short, long] = await publishAndRoute(db, [newMessage(topic(), { ttl_seconds: 10 }), newMessage(topic(), { ttl_seconds: 1000 })]);
    const later = await receive(db, client, { now: at(11_000) });
    expect(later.expired).toEqual([short]);
    expect(later.delivered.map((r) => r.id)).toEqual([long]);

    const [swept] = await publishAndRoute(db, [newMessage(topic(), { ttl_seconds: 1 })]);
    await sql`update switchyard.delivery set expires_at = now() - interval '1 second' where message_id = ${swept}`.execute(db);
    expect(await deleteExpiredDeliveries(db, 100)).toBe(1);
    const counted = await sql<{ expired: number }>`
      select sum(expired)::int as expired from switchyard.analytics_minute where address = ${topic()}`.execute(db);
    expect(counted.rows[0]!.expired).toBe(1);
  });
});

describe('FIFO groups', () => {
  test('at most one message of a group is in flight; other groups and ungrouped messages are unaffected', async () => {
    const [a1, a2, a3, b1, c1] = await publishAndRoute(db, [
      newMessage(topic(), { group_id: 'a' }), newMessage(topic(), { group_id: 'a' }), newMessage(topic(), { group_id: 'a' }),
      newMessage(topic(), { group_id: 'b' }), newMessage(topic()),
    ]);
    const first = (await receive(db, client)).delivered;
    expect(first.map((r) => r.id).sort()).toEqual([a1, b1, c1].sort());
    expect((await receive(db, client)).delivered).toEqual([]);
    await ackDeliveries(db, client, [receipt(first.find((r) => r.id === a1)!)]);
    const next = (await receive(db, client)).delivered;
    expect(next.map((r) => r.id)).toEqual([a2]);
    // A nacked head stays the head: the group waits for it.
    await nackDeliveries(db, client, [receipt(next[0]!)], { delaySeconds: 0, reason: undefined, defaults });
    expect((await receive(db, client)).delivered.map((r) => r.id)).toEqual([a2]);
    expect(a3).toBeDefined();
  });

  test('a dead-lettered head releases its group', async () => {
    await policy({ max_receives: 1 });
    const [h, next] = await publishAndRoute(db, [newMessage(topic(), { group_id: 'g' }), newMessage(topic(), { group_id: 'g' })]);
    const head = (await receive(db, client)).delivered;
    expect(head.map((r) => r.id)).toEqual([h]);
    await nackDeliveries(db, client, [receipt(head[0]!)], { delaySeconds: 0, reason: 'poison', defaults });
    expect((await receive(db, client)).delivered.map((r) => r.id)).toEqual([next]);
  });
});

describe('flow control', () => {
  test('a delivery rate hands out at most its burst at once and refills at its rate, losing nothing', async () => {
    await policy({ delivery_rate: 5 });
    await publishAndRoute(db, Array.from({ length: 20 }, () => newMessage(topic())));
    const t0 = Date.now() + 1_000;
    const got = [
      (await receive(db, client, { max: 100, now: new Date(t0) })).delivered.length,
      (await receive(db, client, { max: 100, now: new Date(t0) })).delivered.length,
      (await receive(db, client, { max: 100, now: new Date(t0 + 1_000) })).delivered.length,
      (await receive(db, client, { max: 100, now: new Date(t0 + 60_000) })).delivered.length,
      (await receive(db, client, { max: 100, now: new Date(t0 + 120_000) })).delivered.length,
    ];
    expect(got).toEqual([5, 0, 5, 5, 5]);
  });

  test("an SSE stream's leases never exceed its prefetch; an ack makes room", async () => {
    await publishAndRoute(db, Array.from({ length: 10 }, () => newMessage(topic())));
    const lease = { owner: 'stream-one', seqBefore: 0, prefetch: 3 };
    const first = (await receive(db, client, { max: 100, lease })).delivered;
    expect(first).toHaveLength(3);
    expect((await receive(db, client, { max: 100, lease: { ...lease, seqBefore: 3 } })).delivered).toHaveLength(0);
    await ackDeliveries(db, client, [receipt(first[0]!)]);
    const more = (await receive(db, client, { max: 100, lease: { ...lease, seqBefore: 3 } })).delivered;
    expect(more.map((r) => r.lease_seq)).toEqual([4]);
  });
});
