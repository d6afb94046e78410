// The set-based claim for many clients (switchyard.claim_deliveries_for_clients, migration 0023)
// must apply exactly the rules of one claim_deliveries call per client. fast-check builds queues
// with every rule in play (max receives, delivery-rate buckets, stream prefetch with leases already
// out, FIFO groups, expiry, invisible rows, auto-ack); each case runs both ways in a transaction
// that is rolled back, and the answers and everything left behind must be equal.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { claimDeliveriesForClients, claimDeliveriesMany, type ClaimOptions } from '../../src/inbox/inbox.repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createQueueClient, newMessage, publishAndRoute } from '../helpers/queue.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const deliveryShape = fc.record({
  group: fc.constantFrom(null, 'a', 'b'),
  receiveCount: fc.integer({ min: 0, max: 3 }),
  expired: fc.boolean(),
  invisible: fc.boolean(),
  leasedToTheStream: fc.boolean(),
  priority: fc.integer({ min: 0, max: 2 }),
});

const clientShape = fc.record({
  maxReceives: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
  rate: fc.option(fc.record({ perSecond: fc.double({ min: 0.5, max: 5, noNaN: true }), burst: fc.integer({ min: 1, max: 3 }) }), { nil: null }),
  deliveries: fc.array(deliveryShape, { maxLength: 6 }),
  max: fc.integer({ min: 0, max: 5 }),
  stream: fc.option(fc.record({ seqBefore: fc.integer({ min: 0, max: 3 }), prefetch: fc.integer({ min: 0, max: 4 }) }), { nil: null }),
  autoAck: fc.boolean(),
  visibilitySeconds: fc.integer({ min: 1, max: 60 }),
});

type ClientShape = typeof clientShape extends fc.Arbitrary<infer T> ? T : never;

let run = 0;

async function buildQueues(db: Db, shapes: ClientShape[], now: Date): Promise<ClaimOptions[]> {
  run += 1;
  const requests: ClaimOptions[] = [];
  for (const [i, shape] of shapes.entries()) {
    const name = `set-${run}-${i}`;
    const clientId = await createQueueClient(db, name);
    const owner = `stream-${run}-${i}`;
    const ids = await publishAndRoute(db, shape.deliveries.map((d) => newMessage(`topic:${name}`, { group_id: d.group, priority: d.priority })));
    for (const [j, d] of shape.deliveries.entries()) {
      await sql`
        update switchyard.delivery
        set receive_count = ${d.receiveCount},
            expires_at = case when ${d.expired} then ${now}::timestamptz - interval '1 second' end,
            visible_at = case when ${d.invisible} then ${now}::timestamptz + interval '60 seconds'
                              else ${now}::timestamptz - interval '1 second' end,
            lease_owner = case when ${d.invisible} and ${d.leasedToTheStream} then ${owner} end
        where client_id = ${clientId} and message_id = ${ids[j]!}`.execute(db);
    }
    if (shape.maxReceives !== null || shape.rate !== null) {
      await sql`insert into switchyard.queue_policy (client_id, max_receives, delivery_rate, delivery_burst)
                values (${clientId}, ${shape.maxReceives}, ${shape.rate?.perSecond ?? null}, ${shape.rate?.burst ?? null})`.execute(db);
    }
    if (shape.rate !== null) {
      // half a token short of the burst, a second ago: the refill decides whether one more fits
      await sql`insert into switchyard.delivery_bucket (client_id, tokens, updated_at)
                values (${clientId}, ${Math.max(0, shape.rate.burst - 1.5)}, ${now}::timestamptz - interval '1 second')`.execute(db);
    }
    requests.push({
      clientId, max: shape.max, visibilitySeconds: shape.visibilitySeconds, maxReceives: 2, autoAck: shape.autoAck, now,
      ...(shape.stream ? { lease: { owner, seqBefore: shape.stream.seqBefore, prefetch: shape.stream.prefetch } } : {}),
    });
  }
  return requests;
}

/** Everything a claim may change, for these clients. */
async function stateOf(db: Db, clientIds: string[]) {
  const rows = async (query: ReturnType<typeof sql>) => (await query.execute(db)).rows;
  return {
    deliveries: await rows(sql`
      select client_id, message_id, visible_at, receive_count, first_received_at, last_received_at, lease_owner, lease_seq
      from switchyard.delivery where client_id = any(${clientIds}::bigint[]) order by client_id, message_id`),
    deadLetters: await rows(sql`
      select client_id, message_id, reason, receive_count from switchyard.dead_letter
      where client_id = any(${clientIds}::bigint[]) order by client_id, message_id`),
    receipts: await rows(sql`
      select client_id, message_id, receive_count, first_received_at, acked_at from switchyard.delivery_receipt
      where client_id = any(${clientIds}::bigint[]) order by client_id, message_id`),
    buckets: await rows(sql`
      select client_id, tokens, updated_at from switchyard.delivery_bucket
      where client_id = any(${clientIds}::bigint[]) order by client_id`),
  };
}

async function claimAndRollBack(claim: (db: Db) => Promise<unknown[][]>, clientIds: string[]) {
  return database.db.connection().execute(async (db) => {
    await sql`begin`.execute(db);
    try {
      const answers = await claim(db);
      return { answers, state: await stateOf(db, clientIds) };
    } finally {
      await sql`rollback`.execute(db);
    }
  });
}

test('the set-based claim for many clients answers and changes exactly what one claim per client does', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(clientShape, { minLength: 1, maxLength: 5 }), async (shapes) => {
      const now = new Date(Date.now() + 3_600_000);
      const requests = await buildQueues(database.db, shapes, now);
      const clientIds = requests.map((r) => r.clientId);
      const together = await claimAndRollBack((db) => claimDeliveriesForClients(db, requests), clientIds);
      const oneByOne = await claimAndRollBack((db) => claimDeliveriesMany(db, requests), clientIds);
      expect(together).toEqual(oneByOne);
    }),
    { numRuns: 40 },
  );
});

test('the set-based claim refuses a client named twice, which would hand its rows out twice', async () => {
  const clientId = await createQueueClient(database.db, 'named-twice');
  await publishAndRoute(database.db, [newMessage('topic:named-twice')]);
  const request = { clientId, max: 5, visibilitySeconds: 30, maxReceives: 5 };
  await expect(claimDeliveriesForClients(database.db, [request, request])).rejects.toThrow(/each client may appear once/);
  const left = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where client_id = ${clientId} and receive_count = 0`.execute(database.db);
  expect(left.rows[0]!.n).toBe(1);
});
