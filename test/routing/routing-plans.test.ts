// The routing batch's plans are made once per connection and kept (generic plans, migration 0025),
// so they must not depend on how big the tables were when they were made. Planned while the log and
// the subscriptions were small, switchyard.route_batch must still reach every row through an index
// once they have grown (migration 0028): a sequential scan there reads every log partition, or every
// subscription, on every batch. PostgreSQL's own counters (pg_stat_user_tables.seq_scan) tell.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { sequentialScans } from '../helpers/sequential-scans.ts';

let database: TestDatabase;
let session: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  session = new pg.Client({ connectionString: database.url });
  await session.connect();
});

afterAll(async () => {
  await session?.end();
  await database?.drop();
});

const SCANNED = ['switchyard.message', 'switchyard.subscription', 'switchyard.delivery'];

/** n messages to `topics` topics (topic:<prefix>0 ...), written to the log as the router writes them. */
async function publish(prefix: string, n: number, topics: number): Promise<void> {
  await session.query(`
    insert into switchyard.message (id, lane, sender, to_address, conversation, payload)
    select switchyard.uuidv7(), switchyard.lane_of(t), 'user:tester', t, t, '{}'
    from (select 'topic:' || $1 || (g % $3) as t from generate_series(1, $2) g) s`, [prefix, n, topics]);
}

/** Routes until the log is drained; the messages routed. */
async function route(): Promise<number> {
  let routed = 0;
  for (;;) {
    const { rows } = await session.query<{ kind: string; n: number }>(`select * from switchyard.route_batch(16, 1000, 0, '{}', 900, 500)`);
    const entries = rows.find((row) => row.kind === 'entries')?.n ?? 0;
    if (entries === 0) return routed;
    routed += entries;
  }
}

const deliveries = async () => Number((await session.query<{ n: string }>('select count(*) as n from switchyard.delivery')).rows[0]!.n);

/** `n` clients named <prefix><i>, each listening to one of `topics` topics (topic:<prefix>0 ...). */
async function subscribe(prefix: string, n: number, topics: number): Promise<void> {
  await session.query(`insert into switchyard.client (name, token_hash)
                       select $1 || g, sha256(convert_to($1 || g, 'UTF8')) from generate_series(1, $2) g`, [prefix, n]);
  await session.query(`insert into switchyard.subscription (address, client_id)
                       select 'topic:' || $1 || (id % $2), id from switchyard.client where name like $1 || '%'`, [prefix, topics]);
}

test('a routing batch planned on a small log and few subscriptions reaches every row by an index once they have grown', async () => {
  // Small, analyzed, and planned: the first batches.
  await subscribe('few', 3, 3);
  await publish('few', 10, 3);
  await session.query('analyze switchyard.message, switchyard.subscription, switchyard.delivery');
  expect(await route()).toBeGreaterThan(0);

  // Grown: 2,000 subscribers on 200 topics and 20,000 messages in the log, routed.
  await subscribe('many', 2_000, 200);
  await publish('many', 20_000, 200);
  await route();

  const queued = await deliveries();
  const before = await sequentialScans(session, SCANNED);
  await publish('many', 50, 200);
  expect(await route()).toBe(50);
  expect(await sequentialScans(session, SCANNED)).toBe(before);
  expect(await deliveries() - queued).toBe(50 * 10); // not vacuous: each message reached its topic's 10 subscribers
});
