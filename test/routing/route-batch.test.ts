// The routing batch in one round trip (switchyard.route_batch): the lane claim, the snapshot-
// bounded read, the fan-out and the cursor advance run as one autocommitted statement. The same
// promises as the general path: whatever order producers commit in, with rollbacks, two workers
// and a worker killed mid-batch, every committed message reaches every subscriber exactly once.
import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import type { Database } from '../../src/db/schema.ts';
import { createLogger } from '../../src/logger.ts';
import { StageRunner, type Stage } from '../../src/queue/stage-runner.ts';
import { createRoutingStage } from '../../src/routing/routing.stage.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { connectTo, countingOneStatement, drain, produceOutOfOrder, publishOn as publish, runKilledMidStatement } from '../helpers/log-load.ts';

const log = createLogger('silent');
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  // Every row the fan-out proposes, before the conflict check: a batch routed twice shows here even
  // though ON CONFLICT DO NOTHING would hide it in switchyard.delivery.
  await sql`create table public.proposed (client_id bigint not null, message_id uuid not null)`.execute(db);
  await sql`create function public.record_proposed() returns trigger language plpgsql as $$
    begin insert into public.proposed values (new.client_id, new.message_id); return new; end $$`.execute(db);
  await sql`create trigger record_proposed before insert on switchyard.delivery for each row execute function public.record_proposed()`.execute(db);
});

afterAll(async () => {
  await database?.drop();
});

beforeEach(async () => {
  await sql`truncate switchyard.message, switchyard.delivery, public.proposed`.execute(db);
  await sql`delete from switchyard.client`.execute(db);
  await sql`update switchyard.stage_cursor set prev = pg_current_snapshot(), target = null, pos_xid = null, pos_id = null`.execute(db);
});

/** The routing stage, counting the batches its one-statement path took. */
const countingStage = () => countingOneStatement(createRoutingStage({ priorityAgingMs: 0, onDelivered: () => undefined }));

const runner = (stage: Stage) => new StageRunner({ db, stage, log, batchSize: 50, lanesPerClaim: 4, retryLimit: 3 });

/** Every (client, message) the subscriptions call for, each proposed exactly once. */
async function expectExactlyOnce(committed: string[]): Promise<void> {
  const twice = await sql<{ n: number }>`
    select count(*)::int as n from (select 1 from public.proposed group by client_id, message_id having count(*) > 1) d`.execute(db);
  expect(twice.rows[0]!.n).toBe(0);
  const missing = await sql<{ n: number }>`
    select count(*)::int as n from switchyard.message m join switchyard.subscription s on s.address = m.to_address
    where not exists (select 1 from switchyard.delivery d where d.client_id = s.client_id and d.message_id = m.id)`.execute(db);
  expect(missing.rows[0]!.n).toBe(0);
  const routed = await sql<{ id: string }>`select distinct message_id as id from public.proposed`.execute(db);
  expect(new Set(routed.rows.map((r) => r.id))).toEqual(new Set(committed));
}

describe('the routing batch in one statement', () => {
  test('8 producers committing out of order, some rolling back, two workers: every committed message fanned out exactly once', async () => {
    await sql`insert into switchyard.client (name, token_hash) values ('c1', '\\x01'), ('c2', '\\x02')`.execute(db);
    await sql`
      insert into switchyard.subscription (address, client_id)
      select 'topic:t' || n, c.id from generate_series(0, 29) n, switchyard.client c where c.name = 'c1' or n % 2 = 0`.execute(db);
    const stages = [countingStage(), countingStage()];
    const { committed, rolledBack } = await produceOutOfOrder(database.url, stages.map((s) => runner(s.stage)));

    expect(rolledBack.length).toBeGreaterThan(0);
    expect(stages.every((s) => s.whole() > 0)).toBe(true); // both workers took the one-statement path
    await expectExactlyOnce(committed);
  });

  test('a worker killed while its statement is inside the fan-out redoes the batch: nothing lost, nothing fanned out twice', async () => {
    await sql`insert into switchyard.client (name, token_hash) values ('c1', '\\x01'), ('c2', '\\x02')`.execute(db);
    await sql`insert into switchyard.subscription (address, client_id) select 'topic:x', id from switchyard.client`.execute(db);
    const producer = await connectTo(database.url);
    const ids = await publish(producer, 'topic:x', 30);
    await producer.end();

    const { stage, whole } = countingStage();
    const worker = runner(stage);
    // Killed while it waits for the delivery table, which the fan-out writes.
    await runKilledMidStatement(database.url, db, worker, 'switchyard.delivery', 'route_batch');

    await drain(worker);
    expect(whole()).toBeGreaterThan(0);
    await expectExactlyOnce(ids);
  });

  test('with a filtered subscription or a routing rule it does nothing, and the stage routes through its policy evaluator without asking again', async () => {
    await sql`insert into switchyard.client (name, token_hash) values ('plain', '\\x01'), ('picky', '\\x02')`.execute(db);
    await sql`insert into switchyard.subscription (address, client_id, filter)
      select 'topic:f', id, case when name = 'picky' then '{"payload": {"i": [1]}}'::jsonb end from switchyard.client`.execute(db);
    const producer = await connectTo(database.url);
    const ids = await publish(producer, 'topic:f', 3);
    await producer.end();
    const statements: string[] = [];
    const logged = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: database.pool }),
      log: (event) => void (event.level === 'query' && statements.push(event.query.sql)),
    });
    const { stage, whole } = countingStage();
    const worker = new StageRunner({ db: logged, stage, log, batchSize: 50, lanesPerClaim: 4, retryLimit: 3 });
    await drain(worker);
    expect(whole()).toBe(0);
    // Told once that content routing is in use, the stage does not ask again on the next batches.
    expect(statements.filter((text) => text.includes('route_batch('))).toHaveLength(1);
    const rows = await sql<{ name: string; n: number }>`
      select c.name, count(*)::int as n from switchyard.delivery d join switchyard.client c on c.id = d.client_id group by c.name order by c.name`.execute(db);
    expect(rows.rows).toEqual([{ name: 'picky', n: 1 }, { name: 'plain', n: ids.length }]);
  });

  test('refuses to run under an isolation level other than READ COMMITTED, where one snapshot would serve every statement', async () => {
    await expect(db.transaction().setIsolationLevel('repeatable read').execute((tx) =>
      sql`select * from switchyard.route_batch(4, 50, 0, '{}', 900, 500)`.execute(tx))).rejects.toThrow(/READ COMMITTED/);
  });
});
