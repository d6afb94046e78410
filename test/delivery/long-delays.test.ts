// Delays of any length: a delivery due beyond the horizon waits in the pending store, outside the
// claimed table, until the delay mover brings it in shortly before it is due. The clock is
// injected: nothing here sleeps for days.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { createLogger } from '../../src/logger.ts';
import { DELAY_MAX_SECONDS } from '../../src/messages/messages.schemas.ts';
import { DELAY_HORIZON_SECONDS } from '../../src/routing/routing.repository.ts';
import { MOVE_AHEAD_SECONDS, runDelayMover } from '../../src/upkeep/delay-mover.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { publish, registerClient } from '../helpers/factories.ts';
import { at, createQueueClient, newMessage, publishAndRoute, receive } from '../helpers/queue.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let database: TestDatabase;
let db: Db;
const log = createLogger('silent');
const DAY_MS = 24 * 3600 * 1000;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
});

afterAll(async () => {
  await database?.drop();
});

const where = async (clientId: string, messageId: string) => {
  const result = await sql<{ claimed: number; pending: number }>`
    select (select count(*)::int from switchyard.delivery where client_id = ${clientId} and message_id = ${messageId}) as claimed,
           (select count(*)::int from switchyard.delivery_pending where client_id = ${clientId} and message_id = ${messageId}) as pending`.execute(db);
  return result.rows[0]!;
};

test('a message due in two days waits outside the claimed table, invisible, and is delivered on time once the clock gets there', async () => {
  const client = await createQueueClient(db, 'later');
  const dueAt = at(2 * DAY_MS);
  const [id] = await publishAndRoute(db, [newMessage('topic:later', { deliver_at: dueAt.toISOString() })]);
  expect(await where(client, id!)).toEqual({ claimed: 0, pending: 1 });
  expect((await receive(db, client)).delivered).toEqual([]);
  expect((await receive(db, client, { now: at(2 * DAY_MS + 1_000) })).delivered).toEqual([]); // not moved yet: nothing claims pending rows

  // A day later the mover leaves it alone; within the horizon it moves it, still invisible until due.
  expect(await runDelayMover(db, log, { now: at(DAY_MS) })).toBe(0);
  expect(await runDelayMover(db, log, { now: new Date(dueAt.getTime() - (MOVE_AHEAD_SECONDS - 60) * 1000) })).toBe(1);
  expect(await where(client, id!)).toEqual({ claimed: 1, pending: 0 });
  expect((await receive(db, client, { now: new Date(dueAt.getTime() - 1_000) })).delivered).toEqual([]);
  const due = await receive(db, client, { now: new Date(dueAt.getTime() + 1_000) });
  expect(due.delivered.map((row) => row.id)).toEqual([id]);
});

test('a delay within the horizon goes straight into the claimed table, one beyond it to the pending store', async () => {
  const client = await createQueueClient(db, 'edge');
  const [near, far] = await publishAndRoute(db, [
    newMessage('topic:edge', { delay_seconds: DELAY_HORIZON_SECONDS - 60 }),
    newMessage('topic:edge', { delay_seconds: DELAY_HORIZON_SECONDS + 60 }),
  ]);
  expect(await where(client, near!)).toEqual({ claimed: 1, pending: 0 });
  expect(await where(client, far!)).toEqual({ claimed: 0, pending: 1 });
});

test('two movers running at once move every pending delivery exactly once', async () => {
  const client = await createQueueClient(db, 'movers');
  const dueAt = at(3 * DAY_MS);
  await runDelayMover(db, log, { now: at(2 * DAY_MS) }); // what earlier tests left pending moves first
  const ids = await publishAndRoute(db, Array.from({ length: 50 }, () => newMessage('topic:movers', { deliver_at: dueAt.toISOString() })));
  const moveAt = new Date(dueAt.getTime() - 60_000);
  const [a, b] = await Promise.all([runDelayMover(db, log, { now: moveAt }), runDelayMover(db, log, { now: moveAt })]);
  expect(a + b).toBe(ids.length);
  const claimed = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where client_id = ${client}`.execute(db);
  expect(claimed.rows[0]!.n).toBe(ids.length);
  const due = await receive(db, client, { now: new Date(dueAt.getTime() + 1_000), max: 100 });
  expect(due.delivered.map((row) => row.id).sort()).toEqual([...ids].sort());
});

test(`HTTP accepts delays up to ${DELAY_MAX_SECONDS} s (365 days) and refuses one second more; a restart in between loses nothing; revoking empties them`, async () => {
  let service: TestService | undefined = await startTestService(database.url, { SWITCHYARD_ROLES: 'router,routing,push' });
  try {
    const alice = await registerClient(service.admin, 'alice');
    const bob = await registerClient(service.admin, 'bob');
    const tooLong = await alice.api.post('/v1/messages', { to: 'user:bob', payload: 'x', delay_seconds: DELAY_MAX_SECONDS + 1 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors[0].path).toBe('delay_seconds');
    const tooFar = await alice.api.post('/v1/messages', { to: 'user:bob', payload: 'x', deliver_at: at((DELAY_MAX_SECONDS + 60) * 1000).toISOString() });
    expect(tooFar.status).toBe(400);
    expect(tooFar.body.errors[0].path).toBe('deliver_at');
    const longest = await publish(alice, { to: 'user:bob', payload: 'next year', delay_seconds: DELAY_MAX_SECONDS });
    const twoDays = await publish(alice, { to: 'user:bob', payload: 'in two days', deliver_at: at(2 * DAY_MS).toISOString() });
    await expectEventually(async () => (await where(bob.id, twoDays)).pending === 1 && (await where(bob.id, longest)).pending === 1);
    expect((await bob.api.get('/v1/inbox?wait=0')).body.messages).toEqual([]);

    await service.stop();
    service = await startTestService(database.url, { SWITCHYARD_ROLES: 'router,routing,push' });
    expect(await where(bob.id, twoDays)).toEqual({ claimed: 0, pending: 1 });
    expect(await runDelayMover(db, log, { now: at(2 * DAY_MS - 60_000) })).toBe(1);
    const delivered = await receive(db, bob.id, { now: at(2 * DAY_MS + 1_000) });
    expect(delivered.delivered.map((row) => [row.id, row.payload])).toEqual([[twoDays, 'in two days']]);
    expect(await where(bob.id, longest)).toEqual({ claimed: 0, pending: 1 });

    // Revoking bob empties his pending deliveries too: nobody can ever read them.
    expect((await service.admin.post(`/v1/admin/clients/${bob.id}/revoke`)).status).toBe(200);
    expect(await where(bob.id, longest)).toEqual({ claimed: 0, pending: 0 });
  } finally {
    await service?.stop();
  }
});

async function expectEventually(check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
