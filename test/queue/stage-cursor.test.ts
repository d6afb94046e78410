// The message log read through snapshot-bounded cursors: nothing committed is skipped, nothing is
// handled twice, whatever order transactions commit in and whatever happens to a worker.
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { createLogger } from '../../src/logger.ts';
import { claimLanes, readLaneBatches } from '../../src/queue/stage-cursor.repository.ts';
import { StageRunner, type Stage } from '../../src/queue/stage-runner.ts';
import { createRoutingStage } from '../../src/routing/routing.stage.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { connectTo, drain, produceOutOfOrder, publishOn as publishInOwnTransaction } from '../helpers/log-load.ts';

const log = createLogger('silent');
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  await sql`create table public.seen (stage text not null, message_id uuid not null)`.execute(db);
});

afterAll(async () => {
  await database?.drop();
});

beforeEach(async () => {
  await sql`truncate switchyard.message, switchyard.delivery, switchyard.stage_retry, switchyard.stage_dead_letter, public.seen`.execute(db);
  await sql`delete from switchyard.client`.execute(db);
  await sql`update switchyard.stage_cursor set prev = pg_current_snapshot(), target = null, pos_xid = null, pos_id = null`.execute(db);
});

/** A stage that records every message it handles, in its own transaction: duplicates show. */
function recording(name: string, inner?: Stage): Stage {
  return {
    name,
    async handle(tx, entries, afterCommit) {
      await inner?.handle(tx, entries, afterCommit);
      await sql`insert into public.seen (stage, message_id) select ${name}, unnest(${entries.map((e) => e.id)}::uuid[])`.execute(tx);
    },
  };
}

function runner(stage: Stage, options: Partial<ConstructorParameters<typeof StageRunner>[0]> = {}) {
  return new StageRunner({ db, stage, log, batchSize: 50, lanesPerClaim: 4, retryLimit: 3, ...options });
}

async function seen(stage: string): Promise<string[]> {
  const result = await sql<{ message_id: string }>`select message_id from public.seen where stage = ${stage} order by message_id`.execute(db);
  return result.rows.map((row) => row.message_id);
}


describe('snapshot-bounded batches', () => {
  test('a snapshot stored by a later statement than the scan loses a transaction that commits in between; the real read does not', async () => {
    const producer = await connectTo(database.url);
    const consumer = await connectTo(database.url);
    try {
      // The wrong way, written out: scan in one statement, store pg_current_snapshot() in the next.
      await producer.query('begin');
      const [lost] = await publishInOwnTransaction(producer, 'topic:a', 1); // running, invisible to the scan
      await consumer.query('begin');
      const scanned = await consumer.query(`
        select m.id from switchyard.message m, switchyard.stage_cursor c
        where c.stage = 'routing' and c.lane = m.lane
          and not pg_visible_in_snapshot(m.xid, c.prev)`);
      expect(scanned.rows).toEqual([]);
      await producer.query('commit'); // commits between the scan and the snapshot
      await consumer.query(`update switchyard.stage_cursor set prev = pg_current_snapshot() where stage = 'routing'`);
      await consumer.query('commit');
      const afterwards = await consumer.query(`
        select m.id from switchyard.message m, switchyard.stage_cursor c
        where c.stage = 'routing' and c.lane = m.lane and not pg_visible_in_snapshot(m.xid, c.prev)`);
      expect(afterwards.rows, 'the naive cursor has silently passed the message').toEqual([]);
      expect((await sql`select 1 from switchyard.message where id = ${lost}`.execute(db)).rows).toHaveLength(1);

      // The real read, same interleaving: the producer commits after the read, before our commit.
      await sql`update switchyard.stage_cursor set prev = pg_current_snapshot() where stage = 'persistence'`.execute(db);
      // A committed message in the same lane makes the lane worth claiming.
      const [before] = await publishInOwnTransaction(consumer, 'topic:a', 1);
      await producer.query('begin');
      const [kept] = await publishInOwnTransaction(producer, 'topic:a', 1);
      const stage = runner(recording('persistence'), {
        beforeCommit: async () => void (await producer.query('commit')),
      });
      await stage.runOnce();
      expect(await seen('persistence')).toEqual([before]);
      await drain(runner(recording('persistence')));
      expect((await seen('persistence')).sort()).toEqual([before!, kept!].sort());
    } finally {
      await producer.end();
      await consumer.end();
    }
  });

  test('a full batch keeps its window open and the next batch continues after its last row, in (xid, id) order', async () => {
    const client = await connectTo(database.url);
    try {
      await client.query('begin');
      const ids = await publishInOwnTransaction(client, 'topic:one-conversation', 120);
      await client.query('commit');
      const order: string[] = [];
      for (let batch = 0; batch < 4; batch++) {
        await db.transaction().execute(async (tx) => {
          const lanes = await claimLanes(tx, 'analytics', 16);
          order.push(...(await readLaneBatches(tx, 'analytics', lanes, 50)).map((e) => e.id));
        });
      }
      expect(order).toEqual([...ids].sort()); // one transaction: one xid, so id order
    } finally {
      await client.end();
    }
  });

  test('8 producers committing out of order, some rolling back, with two routing workers sharing the lanes: every committed message is routed exactly once', async () => {
    await sql`insert into switchyard.client (name, token_hash) values ('c1', '\\x01'), ('c2', '\\x02')`.execute(db);
    await sql`
      insert into switchyard.subscription (address, client_id)
      select 'topic:t' || n, c.id from generate_series(0, 29) n, switchyard.client c where c.name = 'c1' or n % 2 = 0`.execute(db);

    const routing = () => runner(recording('routing', createRoutingStage({ priorityAgingMs: 0, onDelivered: () => undefined })));
    const { committed, rolledBack } = await produceOutOfOrder(database.url, [routing(), routing()]);

    const routed = await seen('routing');
    expect(routed.length).toBe(new Set(routed).size); // none twice
    expect(new Set(routed)).toEqual(new Set(committed)); // every committed one, and nothing else
    expect(rolledBack.length).toBeGreaterThan(0);
    const deliveries = await sql<{ n: number }>`
      select count(*)::int as n from switchyard.delivery d
      join switchyard.message m on m.id = d.message_id`.execute(db);
    const expected = await sql<{ n: number }>`
      select count(*)::int as n from switchyard.message m join switchyard.subscription s on s.address = m.to_address`.execute(db);
    expect(deliveries.rows[0]!.n).toBe(expected.rows[0]!.n);
  });

  test('a routing worker whose connection is terminated mid-batch redoes the batch: no delivery lost or duplicated', async () => {
    await sql`insert into switchyard.client (name, token_hash) values ('c1', '\\x01')`.execute(db);
    await sql`insert into switchyard.subscription (address, client_id) select 'topic:x', id from switchyard.client`.execute(db);
    const client = await connectTo(database.url);
    await client.query('begin');
    const ids = await publishInOwnTransaction(client, 'topic:x', 30);
    await client.query('commit');
    await client.end();

    let terminations = 0;
    const stage = recording('routing', createRoutingStage({ priorityAgingMs: 0, onDelivered: () => undefined }));
    const worker = runner(stage, {
      beforeCommit: async (tx) => {
        if (terminations > 0) return;
        terminations += 1;
        const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0]!.pid;
        await sql`select pg_terminate_backend(${pid})`.execute(db); // from another connection
      },
    });
    await expect(worker.runOnce()).rejects.toThrow();
    await drain(worker);

    expect(terminations).toBe(1);
    expect((await seen('routing')).sort()).toEqual([...ids].sort());
    const deliveries = await sql<{ message_id: string }>`select message_id from switchyard.delivery order by message_id`.execute(db);
    expect(deliveries.rows.map((r) => r.message_id)).toEqual([...ids].sort());
  });

  test('a message that fails its stage is set aside for retry while its lane moves on, then dead-lettered with its error', async () => {
    const client = await connectTo(database.url);
    await client.query('begin');
    const ids = await publishInOwnTransaction(client, 'topic:same-lane', 5);
    await client.query('commit');
    await client.end();
    const poison = ids[2]!;
    const failing: Stage = {
      name: 'analytics',
      async handle(tx, entries, afterCommit) {
        if (entries.some((e) => e.id === poison)) throw new Error('cannot analyse this one');
        await recording('analytics').handle(tx, entries, afterCommit);
      },
    };
    let clock = new Date();
    const worker = runner(failing, { retryLimit: 2, now: () => clock });
    await worker.runOnce();
    expect((await seen('analytics')).sort()).toEqual(ids.filter((id) => id !== poison).sort());
    const retry = await sql<{ message_id: string; attempts: number; last_error: string }>`
      select message_id, attempts, last_error from switchyard.stage_retry where stage = 'analytics'`.execute(db);
    expect(retry.rows).toEqual([{ message_id: poison, attempts: 1, last_error: 'cannot analyse this one' }]);

    await worker.runOnce();
    expect((await sql`select 1 from switchyard.stage_dead_letter`.execute(db)).rows).toEqual([]); // not due yet
    clock = new Date(clock.getTime() + 1_000); // the first retry waits 0.5-1 s
    await worker.runOnce();
    const dead = await sql<{ message_id: string; attempts: number; last_error: string }>`
      select message_id, attempts, last_error from switchyard.stage_dead_letter where stage = 'analytics'`.execute(db);
    expect(dead.rows).toEqual([{ message_id: poison, attempts: 2, last_error: 'cannot analyse this one' }]);
    expect((await sql`select 1 from switchyard.stage_retry`.execute(db)).rows).toEqual([]);
  });
});

describe('stage lag', () => {
  const lag = async (stage: string) => (await sql<{ oldest_pending_at: Date | null; rows_behind: string; rows_capped: boolean }>`
    select oldest_pending_at, rows_behind, rows_capped from switchyard.stage_lag(10) where stage = ${stage}`.execute(db)).rows[0]!;

  test('counts a message whose transaction was still open when the stage closed its window, and one committed after it', async () => {
    const producer = await connectTo(database.url);
    const other = await connectTo(database.url);
    try {
      await producer.query('begin');
      const [open] = await publishInOwnTransaction(producer, 'topic:lag', 1); // in the window's xip list once it closes
      // A committed message in the same lane makes the stage claim the lane and close its window.
      const [committed] = await publishInOwnTransaction(other, 'topic:lag', 1);
      await drain(runner(recording('routing')));
      expect(await seen('routing')).toEqual([committed]);
      expect(await lag('routing')).toMatchObject({ oldest_pending_at: null, rows_behind: '0' });

      await producer.query('commit');
      const [later] = await publishInOwnTransaction(other, 'topic:lag', 1); // past the window's xmax
      const created = await sql<{ id: string; created_at: Date }>`
        select id, created_at from switchyard.message where id in (${open!}, ${later!})`.execute(db);
      const oldest = Math.min(...created.rows.map((row) => row.created_at.getTime()));
      const behind = await lag('routing');
      expect(behind.rows_behind).toBe('2');
      expect(behind.oldest_pending_at?.getTime()).toBe(oldest);
      expect(behind.rows_capped).toBe(false);

      await drain(runner(recording('routing')));
      expect((await seen('routing')).sort()).toEqual([committed!, open!, later!].sort());
      expect(await lag('routing')).toMatchObject({ oldest_pending_at: null, rows_behind: '0' });
    } finally {
      await producer.end();
      await other.end();
    }
  });
});
