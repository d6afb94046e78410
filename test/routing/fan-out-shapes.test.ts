// switchyard.insert_deliveries has two shapes (migration 0024): the plain fan-out, a static
// statement planned once per connection, and the content-routing one, assembled as text per batch.
// Given no routes, the content shape must make exactly the rows the plain one does. fast-check
// builds batches with every rule of the fan-out in play (priority aging, delays inside and past the
// horizon, FIFO groups, expiry, full queues that bury copies, user addresses that never overflow,
// copies already queued) and runs both shapes on the same data in one transaction, rolling back
// between them (so that now() is the same for both) and at the end.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createQueueClient } from '../helpers/queue.ts';

let database: TestDatabase;
const clients: string[] = [];
const ADDRESSES = ['topic:fan-a', 'topic:fan-b', 'user:fan-0', 'topic:nobody'];

beforeAll(async () => {
  database = await createTestDatabase();
  for (let i = 0; i < 4; i++) clients.push(await createQueueClient(database.db, `fan-${i}`));
  // fan-0..2 listen to topic:fan-a, fan-1..3 to topic:fan-b (user:fan-0 comes with fan-0)
  for (const [i, id] of clients.entries()) {
    const addresses = [...(i <= 2 ? ['topic:fan-a'] : []), ...(i >= 1 ? ['topic:fan-b'] : [])];
    for (const address of addresses) await sql`insert into switchyard.subscription (address, client_id) values (${address}, ${id})`.execute(database.db);
  }
});

afterAll(async () => {
  await database?.drop();
});

const messageShape = fc.record({
  to: fc.constantFrom(...ADDRESSES),
  priority: fc.integer({ min: 0, max: 9 }),
  // seconds from now: due, due soon, past the 900 s horizon (pending), or in the past
  deliverIn: fc.constantFrom(0, 5, 2_000, -30),
  createdAgo: fc.constantFrom(0, 1, 60),
  group: fc.constantFrom(null, 'g1', 'g2'),
  expiresIn: fc.option(fc.constantFrom(60, 3_600), { nil: null }),
  alreadyQueuedFor: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
});

const batchShape = fc.record({
  messages: fc.array(messageShape, { minLength: 1, maxLength: 6 }),
  full: fc.subarray([0, 1, 2, 3]),
  agingMs: fc.constantFrom(0, 1_000, 60_000),
  maxNamed: fc.integer({ min: 0, max: 5 }),
});

type Batch = typeof batchShape extends fc.Arbitrary<infer T> ? T : never;

async function fanOut(db: Db, batch: Batch, ids: string[], content: boolean) {
  const m = batch.messages;
  const rows = await sql<{ kind: string; client_id: string; n: number }>`
    select * from switchyard.insert_deliveries(
      ${ids}::uuid[], ${m.map((x) => x.to)}::text[], ${m.map((x) => x.priority)}::smallint[],
      (select array_agg(now() + make_interval(secs => s) order by o) from unnest(${m.map((x) => x.deliverIn)}::int[]) with ordinality u(s, o)),
      (select array_agg(now() - make_interval(secs => s) order by o) from unnest(${m.map((x) => x.createdAgo)}::int[]) with ordinality u(s, o)),
      ${m.map((x) => x.group)}::text[],
      (select array_agg(now() + make_interval(secs => s) order by o) from unnest(${m.map((x) => x.expiresIn)}::int[]) with ordinality u(s, o)),
      ${batch.agingMs}::float8, ${batch.full.map((i) => clients[i]!)}::bigint[], 900, ${batch.maxNamed}
      ${content ? sql`, '{}'::bigint[], '{}'::text[], '{}'::text[], '{}'::bigint[], '{}'::bigint[], '{}'::text[]` : sql``})`.execute(db);
  const left = (table: string) => sql<Record<string, unknown>>`
    select to_jsonb(t) - 'id' - 'dead_at' - 'ctid' as row from ${sql.table(table)} t
    where t.message_id = any(${ids}::uuid[]) order by 1`.execute(db);
  // Past max_named the answer says only that there were more recipients than that (the caller then
  // wakes everyone): which ones it lists is not a rule.
  const delivered = rows.rows.filter((r) => r.kind === 'delivered');
  const named = delivered.length > batch.maxNamed ? [`delivered to more than ${batch.maxNamed}`] : delivered.map((r) => `delivered ${r.client_id}`);
  return {
    answer: [...named, ...rows.rows.filter((r) => r.kind !== 'delivered').map((r) => `${r.kind} ${r.client_id} ${r.n}`)].sort(),
    delivery: (await left('switchyard.delivery')).rows,
    pending: (await left('switchyard.delivery_pending')).rows,
    deadLetter: (await left('switchyard.dead_letter')).rows,
  };
}

test('the plain fan-out and the content shape without routes leave the same rows and give the same answer', async () => {
  let sawEveryKind = { delivered: false, pending: false, buried: false };
  await fc.assert(
    fc.asyncProperty(batchShape, async (batch) => {
      await database.db.connection().execute(async (db) => {
        await sql`begin`.execute(db);
        try {
          const ids: string[] = [];
          for (const message of batch.messages) {
            const row = await sql<{ id: string }>`
              insert into switchyard.message (id, lane, sender, to_address, conversation, payload)
              values (switchyard.uuidv7(), switchyard.lane_of(${message.to}), 'user:tester', ${message.to}, ${message.to}, '{}')
              returning id`.execute(db);
            ids.push(row.rows[0]!.id);
          }
          // a copy already queued for a recipient: both shapes must skip it, not fail
          for (const [i, message] of batch.messages.entries()) {
            if (message.alreadyQueuedFor === null) continue;
            await sql`insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority)
                      values (${clients[message.alreadyQueuedFor]!}, ${ids[i]!}, now(), now(), 0)`.execute(db);
          }
          await sql`savepoint shapes`.execute(db);
          const plain = await fanOut(db, batch, ids, false);
          await sql`rollback to savepoint shapes`.execute(db);
          const content = await fanOut(db, batch, ids, true);
          expect(content).toEqual(plain);
          sawEveryKind = {
            delivered: sawEveryKind.delivered || plain.delivery.length > 0,
            pending: sawEveryKind.pending || plain.pending.length > 0,
            buried: sawEveryKind.buried || plain.deadLetter.length > 0,
          };
        } finally {
          await sql`rollback`.execute(db);
        }
      });
    }),
    { numRuns: 60 },
  );
  // the cases reached every outcome, so equality above compared something
  expect(sawEveryKind).toEqual({ delivered: true, pending: true, buried: true });
});
