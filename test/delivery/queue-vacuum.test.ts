// The push role vacuums the delivery queue itself (inbox/queue-vacuum.ts): autovacuum looks at a
// database once a minute, while the dead rows acks leave at the head of the claim index slow every
// receive until a vacuum removes them. Autovacuum is off on this database's delivery table, so
// every vacuum counted here is the worker's.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { createDb, createPool, type Db } from '../../src/db/database.ts';
import { QUEUE_VACUUM_DEAD_SHARE, QUEUE_VACUUM_MIN_DEAD, createQueueVacuumWorker } from '../../src/inbox/queue-vacuum.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, TestLogins, type TestDatabase } from '../helpers/database.ts';
import { createQueueClient } from '../helpers/queue.ts';

let database: TestDatabase;
let writer: pg.Client;
let clientId: string;
let logins: TestLogins;
const dbs: Db[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  logins = new TestLogins(database);
  await sql`alter table switchyard.delivery set (autovacuum_enabled = false)`.execute(database.db);
  writer = new pg.Client({ connectionString: database.url });
  await writer.connect();
  clientId = await createQueueClient(database.db, 'vacuumed');
});

afterAll(async () => {
  await writer?.end();
  for (const db of dbs) await db.destroy();
  await logins?.drop();
  await database?.drop();
});

beforeEach(async () => {
  await write(`delete from switchyard.delivery`);
  await sql`vacuum switchyard.delivery`.execute(database.db);
});

/** Runs a statement on the writer and has its statistics flushed before the answer comes back. */
async function write(text: string, values: unknown[] = []): Promise<void> {
  await writer.query(text, values);
  await writer.query('select pg_stat_force_next_flush()'); // flushed as the backend goes idle after it
}

const enqueue = (n: number) => write(`insert into switchyard.delivery (client_id, message_id, sort_key, visible_at)
  select $1, gen_random_uuid(), now(), now() from generate_series(1, $2)`, [clientId, n]);
const ack = (n: number) => write(`delete from switchyard.delivery
  where message_id in (select message_id from switchyard.delivery order by sort_key, message_id limit $1)`, [n]);

async function vacuums(): Promise<{ count: number; dead: number }> {
  const result = await sql<{ count: string; dead: string }>`
    select vacuum_count as count, n_dead_tup as dead from pg_stat_user_tables where relid = 'switchyard.delivery'::regclass`.execute(database.db);
  return { count: Number(result.rows[0]!.count), dead: Number(result.rows[0]!.dead) };
}

/** A pool logged in as a new role that is a member of `group` (and nothing else). */
async function poolIn(group: string): Promise<Db> {
  const url = await logins.in(group);
  const db = createDb(createPool({ url, max: 2, statementTimeoutMs: 60_000, idleInTransactionTimeoutMs: 60_000, applicationName: 'switchyard:test' }, createLogger('silent')));
  dbs.push(db);
  return db;
}

test('the service role vacuums the queue once its dead rows pass the threshold, and not before', async () => {
  const took: number[] = [];
  const worker = createQueueVacuumWorker(await poolIn('switchyard_service'), createLogger('silent'), (seconds) => took.push(seconds));
  await enqueue(20_000);
  const before = await vacuums();

  await ack(QUEUE_VACUUM_MIN_DEAD - 1);
  await worker.runOnce();
  expect(await vacuums()).toEqual({ count: before.count, dead: QUEUE_VACUUM_MIN_DEAD - 1 });
  expect(took).toEqual([]);

  await ack(1);
  await worker.runOnce();
  expect(await vacuums()).toEqual({ count: before.count + 1, dead: 0 });
  expect(took).toHaveLength(1); // the metric's observation
  expect(took[0]).toBeGreaterThan(0);
});

test('a large queue waits until its share of rows is dead, so each vacuum pays for as many acks', async () => {
  const worker = createQueueVacuumWorker(await poolIn('switchyard_service'), createLogger('silent'));
  const rows = Math.ceil((2 * QUEUE_VACUUM_MIN_DEAD) / QUEUE_VACUUM_DEAD_SHARE);
  await enqueue(rows);
  const share = Math.ceil(QUEUE_VACUUM_DEAD_SHARE * rows);
  const before = await vacuums();

  await ack(share - 1);
  await worker.runOnce();
  expect((await vacuums()).count).toBe(before.count);

  await ack(1);
  await worker.runOnce();
  expect(await vacuums()).toEqual({ count: before.count + 1, dead: 0 });
});

test('a login that may not vacuum the queue is told once, and the table is left to autovacuum', async () => {
  const lines: string[] = [];
  const worker = createQueueVacuumWorker(await poolIn('switchyard_reader'), createLogger('warn', {}, (line) => lines.push(line) > 0));
  await enqueue(QUEUE_VACUUM_MIN_DEAD * 2);
  await ack(QUEUE_VACUUM_MIN_DEAD * 2);
  const before = await vacuums();

  await worker.runOnce();
  await worker.runOnce();
  expect(await vacuums()).toEqual(before);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/may not vacuum switchyard\.delivery/);
});
