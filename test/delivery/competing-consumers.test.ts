// Four competing consumers of one client's queue over 10,000 messages, with random nacks and
// leases left to run out: every message ends acked exactly once or dead-lettered, never both, and
// inside every FIFO group the acks come in message order.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { ackDeliveries, nackDeliveries } from '../../src/inbox/inbox.repository.ts';
import { replaceQueuePolicy } from '../../src/inbox/queue-policy.repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createQueueClient, newMessage, publishAndRoute, receipt, receive } from '../helpers/queue.ts';

const MESSAGES = 10_000;
const GROUPS = 250;
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
});

afterAll(async () => {
  await database?.drop();
});

test('4 competing consumers, random nacks and lease expiries: each message acked exactly once or dead-lettered, FIFO order kept', async () => {
  const client = await createQueueClient(db, 'workers');
  await db.transaction().execute((tx) => replaceQueuePolicy(tx, client, {
    max_receives: 3, backoff_base_ms: null, backoff_cap_ms: null, max_length: null, overflow: null, delivery_rate: null, delivery_burst: null,
  }));
  const groupOf = new Map<string, string>();
  const messages = Array.from({ length: MESSAGES }, (_, i) =>
    newMessage('topic:workers', { payload: i, group_id: i % 2 === 0 ? `g${i % GROUPS}` : null }));
  const ids = await publishAndRoute(db, messages);
  messages.forEach((m, i) => m.group_id && groupOf.set(ids[i]!, m.group_id));

  const acks = new Map<string, number>(); // message id -> times acked
  const ackOrder: string[] = [];
  const deadLettered = new Set<string>();
  const defaults = { maxReceives: 3, backoffBaseMs: 0, backoffCapMs: 0 };

  // Time is an injected clock. A consumer that finds nothing visible waits; the last one to find
  // nothing moves the clock on by one lease (1 s), so the leases left to run out expire at once,
  // and wakes the others. No consumer holds a batch then, so no lease in use expires early.
  const CONSUMERS = 4;
  let clock = new Date();
  let running = CONSUMERS;
  let waiting: (() => void)[] = [];
  const wakeAll = () => {
    const woken = waiting;
    waiting = [];
    for (const wake of woken) wake();
  };
  const nothingVisible = async () => {
    if (waiting.length + 1 < running) return new Promise<void>((wake) => waiting.push(wake));
    clock = new Date(clock.getTime() + 1_000);
    wakeAll();
  };
  const leave = () => {
    running -= 1;
    if (waiting.length >= running) wakeAll(); // they would wait for this one for ever
  };
  const consumer = async () => {
    for (;;) {
      const { delivered, deadLettered: dead } = await receive(db, client, { max: 50, visibilitySeconds: 1, maxReceives: 3, now: clock });
      dead.forEach((id) => deadLettered.add(id));
      if (delivered.length === 0) {
        const left = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where client_id = ${client}`.execute(db);
        if (left.rows[0]!.n === 0) return leave();
        await nothingVisible();
        continue;
      }
      const toAck = [];
      const toNack = [];
      for (const row of delivered) {
        const roll = Math.random();
        if (roll < 0.75) toAck.push(receipt(row));
        else if (roll < 0.9) toNack.push(receipt(row));
        // else: forget it; its lease runs out after a second and it comes back
      }
      for (const id of await ackDeliveries(db, client, toAck, clock)) {
        acks.set(id, (acks.get(id) ?? 0) + 1);
        ackOrder.push(id);
      }
      const nacked = await nackDeliveries(db, client, toNack, { delaySeconds: 0, reason: 'random failure', defaults, now: clock });
      nacked.filter((r) => r.outcome === 'dead_lettered').forEach((r) => deadLettered.add(r.message_id));
    }
  };
  await Promise.all(Array.from({ length: CONSUMERS }, consumer));

  const stored = await sql<{ message_id: string }>`select message_id from switchyard.dead_letter where client_id = ${client}`.execute(db);
  expect(new Set(stored.rows.map((r) => r.message_id))).toEqual(deadLettered);
  expect([...acks.values()].every((times) => times === 1)).toBe(true);
  for (const id of ids) expect(acks.has(id) !== deadLettered.has(id), `message ${id} must end acked xor dead-lettered`).toBe(true);
  expect(acks.size + deadLettered.size).toBe(MESSAGES);
  expect(deadLettered.size).toBeGreaterThan(0);

  const perGroup = new Map<string, string[]>();
  for (const id of ackOrder) {
    const group = groupOf.get(id);
    if (group) perGroup.set(group, [...(perGroup.get(group) ?? []), id]);
  }
  for (const [group, acked] of perGroup) expect(acked, `group ${group} acked out of order`).toEqual([...acked].sort());
}, 180_000);
