// The operator numbers read what the rest of the system keeps up to date.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { refreshQueueStats } from '../src/inbox/queue-stats.repository.ts';
import { getDeadLetterTotals, getQueueTotals, listQueues, listTrafficMinutes } from '../src/ops/stats.repository.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { createQueueClient, newMessage, publishAndRoute, receipt, receive } from './helpers/queue.ts';
import { nackDeliveries } from '../src/inbox/inbox.repository.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

test('queue totals, the deepest queues, dead letters and traffic per minute', async () => {
  const db = database.db;
  const busy = await createQueueClient(db, 'busy');
  const idle = await createQueueClient(db, 'idle');
  await publishAndRoute(db, [newMessage('topic:busy'), newMessage('topic:busy'), newMessage('topic:busy', { delay_seconds: 60 })]);
  const [leased] = (await receive(db, busy, { max: 1 })).delivered;
  await db.transaction().execute((tx) => refreshQueueStats(tx));

  expect(await getQueueTotals(db)).toMatchObject({ queues: 1, depth: 3, visible: 1, in_flight: 1, delayed: 1 });
  const queues = await listQueues(db, 10);
  expect(queues.map((q) => [q.client_name, q.depth])).toEqual([['busy', 3], ['idle', 0]]);
  expect(queues[1]!.client_id).toBe(idle);

  await nackDeliveries(db, busy, [receipt(leased!)], { delaySeconds: 0, reason: 'x', defaults: { maxReceives: 1, backoffBaseMs: 0, backoffCapMs: 0 } });
  expect(await getDeadLetterTotals(db)).toEqual({ client_dead_letters: 1, by_reason: { max_receives: 1 }, stage_dead_letters: 0 });

  await sql`insert into switchyard.analytics_minute (minute, address, published, delivered) values (date_trunc('minute', now()), 'topic:a', 5, 4), (date_trunc('minute', now()), 'topic:b', 1, 0)`.execute(db);
  expect((await listTrafficMinutes(db, 5)).map((m) => [m.published, m.delivered])).toEqual([[6, 4]]);
});
