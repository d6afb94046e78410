// A receive's plan is made once per connection and kept (generic plans, migration 0025), so it must
// not depend on how big the tables were when it was made. Planned on an empty delivery table and a
// small log, switchyard.claim_deliveries must still reach every row through an index once they
// have grown (migration 0027): a sequential scan there reads every client's queue, or the whole
// log, on every receive. PostgreSQL's own counters (pg_stat_user_tables.seq_scan) tell.
import pg from 'pg';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { sequentialScans } from '../helpers/sequential-scans.ts';

// Each case plans on tables of its own, small when it starts.
let database: TestDatabase;
let session: pg.Client;

beforeEach(async () => {
  database = await createTestDatabase();
  session = new pg.Client({ connectionString: database.url });
  await session.connect();
});

afterEach(async () => {
  await session?.end();
  await database?.drop();
});

const SCANNED = ['switchyard.delivery', 'switchyard.message'];

type Outcome = 'delivered' | 'expired' | 'dead_lettered';

/**
 * One claim on this session, a stream's (owner and prefetch set), auto-acked or leased: by
 * claim_deliveries, or by claim_deliveries_for_clients (the broadcast's claim) with a second client
 * whose queue is empty.
 */
async function claim(clientId: string, autoAck: boolean, many: boolean, otherId: string): Promise<Outcome[]> {
  const owner = `stream-${autoAck}-${many}`;
  const { rows } = await (many
    ? session.query<{ outcome: Outcome }>(
      'select outcome from switchyard.claim_deliveries_for_clients($1, $2, $3, $4, $5, $6, $7, $8, null)',
      [[clientId, otherId], [100, 100], [30, 30], [3, 3], [owner, owner], [0, 0], [1000, 1000], [autoAck, autoAck]])
    : session.query<{ outcome: Outcome }>(
      'select outcome from switchyard.claim_deliveries($1::bigint, 100, 30, 3, $2, 0, 1000, $3, null)', [clientId, owner, autoAck]));
  return rows.map((row) => row.outcome);
}

test.each([
  ['one client', false],
  ['many clients at once', true],
])('a receive (%s) planned on an empty queue and a small log reaches every row by an index once they have grown', async (_, many) => {
  const newClient = async (name: string) => (await session.query<{ id: string }>(
    `insert into switchyard.client (name, token_hash) values ($1::text, sha256(convert_to($1::text, 'UTF8'))) returning id`, [name])).rows[0]!.id;
  const clientId = await newClient('a');
  const otherId = await newClient('b');
  const addToLog = (n: number) => session.query(`
    insert into switchyard.message (id, lane, sender, to_address, conversation, payload)
    select switchyard.uuidv7(), 0, 'user:tester', 'topic:t', 'topic:t', '{}' from generate_series(1, $1)`, [n]);
  await addToLog(200);
  await session.query('analyze switchyard.message, switchyard.delivery');
  // The plans: both ways of claiming, on the empty queue.
  expect(await claim(clientId, true, many, otherId)).toEqual([]);
  expect(await claim(clientId, false, many, otherId)).toEqual([]);

  // The tables grow: a longer log, and a queue of 3,000 of which some rows expired and some were
  // received max_receives (3) times already, so that every step of the claim has work.
  await addToLog(20_000);
  await session.query(`
    insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, receive_count, expires_at)
    select $1, m.id, m.created_at, now(), case when n % 7 = 0 then 3 else 0 end,
           case when n % 5 = 0 then now() - interval '1 minute' end
    from (select id, created_at, row_number() over (order by id) as n from switchyard.message order by id limit 3000) m`, [clientId]);

  const before = await sequentialScans(session, SCANNED);
  const outcomes = [...(await claim(clientId, true, many, otherId)), ...(await claim(clientId, false, many, otherId))];
  expect(await sequentialScans(session, SCANNED)).toBe(before);
  // Not vacuous: the calls handed rows out, expired some and buried some.
  for (const outcome of ['delivered', 'expired', 'dead_lettered'] as const) expect(outcomes).toContain(outcome);
});
