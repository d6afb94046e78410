// The persistence and analytics batches in one round trip (switchyard.stage_batch): the lane
// claim, the snapshot-bounded read, the stage's work and the cursor advance run as one
// autocommitted statement. The same promises as the general path: whatever order producers commit
// in, with rollbacks, two workers per stage and a worker killed mid-batch, every committed message
// is kept in history once and counted once.
import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createAnalyticsStage } from '../../src/analytics/analytics.stage.ts';
import type { Db } from '../../src/db/database.ts';
import type { Database } from '../../src/db/schema.ts';
import { createLogger } from '../../src/logger.ts';
import { createPersistenceStage } from '../../src/persistence/persistence.stage.ts';
import { StageRunner, type Stage } from '../../src/queue/stage-runner.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { connectTo, countingOneStatement as counting, drain, produceOutOfOrder, publishOn as publish, runKilledMidStatement } from '../helpers/log-load.ts';

const log = createLogger('silent');
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  // Every history row the stage proposes, before the conflict check: a batch kept twice shows here
  // even though ON CONFLICT DO NOTHING would hide it in switchyard.history.
  await sql`create table public.proposed (message_id uuid not null)`.execute(db);
  await sql`create function public.record_proposed() returns trigger language plpgsql as $$
    begin insert into public.proposed values (new.message_id); return new; end $$`.execute(db);
  await sql`create trigger record_proposed before insert on switchyard.history for each row execute function public.record_proposed()`.execute(db);
});

afterAll(async () => {
  await database?.drop();
});

beforeEach(async () => {
  await sql`truncate switchyard.message, switchyard.history, switchyard.analytics_minute, switchyard.analytics_sender_minute,
    switchyard.analytics_sender_hour, switchyard.topic_classifier, public.proposed`.execute(db);
  await sql`update switchyard.stage_cursor set prev = pg_current_snapshot(), target = null, pos_xid = null, pos_id = null`.execute(db);
});

const runner = (stage: Stage, on: Db = db) => new StageRunner({ db: on, stage, log, batchSize: 50, lanesPerClaim: 4, retryLimit: 3 });

/** Each committed message proposed to history exactly once, and nothing else. */
async function expectKeptOnce(committed: string[]): Promise<void> {
  const twice = await sql<{ n: number }>`
    select count(*)::int as n from (select 1 from public.proposed group by message_id having count(*) > 1) d`.execute(db);
  expect(twice.rows[0]!.n).toBe(0);
  const kept = await sql<{ id: string }>`select message_id as id from switchyard.history`.execute(db);
  expect(new Set(kept.rows.map((r) => r.id))).toEqual(new Set(committed));
}

/** The counts per address, per sender and minute, and per sender and hour, each what the committed messages add up to. */
async function expectCountedOnce(committed: string[]): Promise<void> {
  const expected = await sql<{ address: string; n: number }>`
    select to_address as address, count(*)::int as n from switchyard.message where id = any (${committed}::uuid[])
    group by 1 order by 1`.execute(db);
  const perAddress = await sql<{ address: string; n: number }>`
    select address, sum(published)::int as n from switchyard.analytics_minute group by 1 order by 1`.execute(db);
  expect(perAddress.rows).toEqual(expected.rows);
  const perSender = await sql<{ minutes: number; hours: number }>`
    select (select sum(published)::int from switchyard.analytics_sender_minute) as minutes,
           (select sum(published)::int from switchyard.analytics_sender_hour) as hours`.execute(db);
  expect(perSender.rows[0]).toEqual({ minutes: committed.length, hours: committed.length });
}

describe('the persistence and analytics batches in one statement', () => {
  test('8 producers committing out of order, some rolling back, two workers per stage: every committed message kept and counted exactly once', async () => {
    const stages = [createPersistenceStage(), createPersistenceStage(), createAnalyticsStage(), createAnalyticsStage()].map(counting);
    const { committed, rolledBack } = await produceOutOfOrder(database.url, stages.map((s) => runner(s.stage)));

    expect(rolledBack.length).toBeGreaterThan(0);
    expect(stages.every((s) => s.whole() > 0)).toBe(true); // every worker took the one-statement path
    await expectKeptOnce(committed);
    await expectCountedOnce(committed);
  });

  test.each([
    ['persistence', 'switchyard.history', createPersistenceStage],
    ['analytics', 'switchyard.analytics_sender_hour', createAnalyticsStage],
  ])('a worker of the %s stage killed while its statement is inside the work redoes the batch: nothing lost, nothing done twice', async (name, table, create) => {
    const producer = await connectTo(database.url);
    const ids = await publish(producer, 'topic:x', 30);
    await producer.end();

    const { stage, whole } = counting(create());
    const worker = runner(stage);
    // Killed while it waits for the table the work writes last.
    await runKilledMidStatement(database.url, db, worker, table, 'stage_batch');

    await drain(worker);
    expect(whole()).toBeGreaterThan(0);
    if (name === 'persistence') await expectKeptOnce(ids);
    else await expectCountedOnce(ids);
  });

  test('while a topic is classified, analytics does nothing in one statement and takes the general path without asking again per batch', async () => {
    await sql`insert into switchyard.topic_classifier (topic) values ('news')`.execute(db);
    const producer = await connectTo(database.url);
    const first = await publish(producer, 'topic:news', 3);
    const statements: string[] = [];
    const logged = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: database.pool }),
      log: (event) => void (event.level === 'query' && statements.push(event.query.sql)),
    });
    const { stage, whole } = counting(createAnalyticsStage());
    const worker = runner(stage, logged);
    await drain(worker);
    const second = await publish(producer, 'topic:other', 4);
    await producer.end();
    await drain(worker);

    expect(whole()).toBe(0);
    // Told once that a topic is classified, the stage does not ask again on the next batches.
    expect(statements.filter((text) => text.includes('stage_batch('))).toHaveLength(1);
    await expectCountedOnce([...first, ...second]);
  });

  test('refuses another isolation level than READ COMMITTED, and a stage whose work is not SQL alone', async () => {
    await expect(db.transaction().setIsolationLevel('repeatable read').execute((tx) =>
      sql`select * from switchyard.stage_batch('persistence', 4, 50)`.execute(tx))).rejects.toThrow(/READ COMMITTED/);
    await expect(sql`select * from switchyard.stage_batch('routing', 4, 50)`.execute(db)).rejects.toThrow(/not routing/);
  });
});
