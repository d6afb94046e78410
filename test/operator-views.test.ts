// The operator views (migration 0006) show what the tables hold: queues, stages, where each
// delivery is (delivery_receipts), and who publishes most (top_publishers, fed by the analytics
// stage exactly once).
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createAnalyticsStage } from '../src/analytics/analytics.stage.ts';
import { ackDeliveries, nackDeliveries } from '../src/inbox/inbox.repository.ts';
import { refreshQueueStats } from '../src/inbox/queue-stats.repository.ts';
import { createLogger } from '../src/logger.ts';
import { StageRunner } from '../src/queue/stage-runner.ts';
import { deleteOldSenderCounts } from '../src/upkeep/expiry.repository.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { createQueueClient, newMessage, publishAndRoute, receipt, receive } from './helpers/queue.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

test('queue_overview, stage_overview and delivery_receipts follow a message to every recipient', async () => {
  const db = database.db;
  const ann = await createQueueClient(db, 'ann');
  const bob = await createQueueClient(db, 'bob');
  await sql`insert into switchyard.subscription (address, client_id) values ('topic:news', ${ann}), ('topic:news', ${bob})`.execute(db);
  // Routed one after the other, so that each queue hands them out in this order.
  const [first] = await publishAndRoute(db, [newMessage('topic:news', { sender: 'user:carl', type: 'greeting' })]);
  const [second, later] = await publishAndRoute(db, [newMessage('topic:news'), newMessage('topic:news', { delay_seconds: 60 })]);
  const [annFirst] = (await receive(db, ann, { max: 1 })).delivered;
  expect(annFirst!.id).toBe(first);
  expect(await ackDeliveries(db, ann, [receipt(annFirst!)])).toEqual([first]);
  const [bobFirst, bobSecond] = (await receive(db, bob, { max: 2 })).delivered;
  await nackDeliveries(db, bob, [receipt(bobFirst!)], { delaySeconds: 0, reason: 'no thanks', defaults: { maxReceives: 1, backoffBaseMs: 0, backoffCapMs: 0 } });
  await db.transaction().execute((tx) => refreshQueueStats(tx));

  const states = await sql<{ message_id: string; client_name: string; state: string; sender: string; type: string | null }>`
    select message_id, client_name, state, sender, type from switchyard.delivery_receipts
    where message_id in (${first}, ${second}, ${later}) order by message_id, client_name`.execute(db);
  expect(states.rows.map((r) => [r.message_id, r.client_name, r.state])).toEqual([
    [first, 'ann', 'acked'], [first, 'bob', 'dead_lettered'],
    [second, 'ann', 'pending'], [second, 'bob', 'in_flight'],
    [later, 'ann', 'delayed'], [later, 'bob', 'delayed'],
  ]);
  expect(states.rows[0]).toMatchObject({ sender: 'user:carl', type: 'greeting' });
  expect(bobSecond!.id).toBe(second);

  const acked = await sql<{ acked_at: Date | null; receive_count: number; sent_at: Date }>`
    select acked_at, receive_count, sent_at from switchyard.delivery_receipts where message_id = ${first} and client_id = ${ann}`.execute(db);
  expect(acked.rows[0]!.acked_at).toBeInstanceOf(Date);
  expect(acked.rows[0]!.receive_count).toBe(1);
  expect(Math.abs(acked.rows[0]!.sent_at.getTime() - Date.now())).toBeLessThan(60_000);

  const queues = await sql<{ client_name: string; depth: string; visible: string; in_flight: string; delayed: string; dead_letters: string }>`
    select client_name, depth, visible, in_flight, delayed, dead_letters from switchyard.queue_overview order by client_name`.execute(db);
  expect(queues.rows).toEqual([
    { client_name: 'ann', depth: '2', visible: '1', in_flight: '0', delayed: '1', dead_letters: '0' },
    { client_name: 'bob', depth: '2', visible: '0', in_flight: '1', delayed: '1', dead_letters: '1' },
  ]);

  const stages = await sql<{ stage: string; rows_behind: string; retrying: string }>`
    select stage, rows_behind, retrying from switchyard.stage_overview order by stage`.execute(db);
  // Routing ran; the other stages did not and are three rows behind.
  expect(stages.rows).toEqual([
    { stage: 'analytics', rows_behind: '3', retrying: '0' },
    { stage: 'persistence', rows_behind: '3', retrying: '0' },
    { stage: 'routing', rows_behind: '0', retrying: '0' },
  ]);
});

test('top_publishers counts each message once per sender, and old hours expire', async () => {
  const db = database.db;
  await sql`truncate switchyard.analytics_sender_hour`.execute(db);
  await publishAndRoute(db, [
    ...Array.from({ length: 3 }, () => newMessage('topic:x', { sender: 'user:loud' })),
    newMessage('topic:x', { sender: 'user:quiet' }),
  ]);
  const runner = new StageRunner({ db, stage: createAnalyticsStage(), log: createLogger('silent'), batchSize: 2, lanesPerClaim: 16, retryLimit: 3 });
  for (;;) {
    const result = await runner.runOnce();
    if (result.processed === 0 && !result.more) break;
  }
  const top = await sql<{ sender: string; published_this_hour: string; published_24h: string }>`
    select sender, published_this_hour, published_24h from switchyard.top_publishers where sender in ('user:loud', 'user:quiet')`.execute(db);
  expect(top.rows).toEqual([
    { sender: 'user:loud', published_this_hour: '3', published_24h: '3' },
    { sender: 'user:quiet', published_this_hour: '1', published_24h: '1' },
  ]);

  await sql`insert into switchyard.analytics_sender_hour (hour, sender, published) values (now() - interval '10 days', 'user:old', 5)`.execute(db);
  expect(await deleteOldSenderCounts(db, 7, 100)).toBe(1);
});
