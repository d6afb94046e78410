// Lane claims narrowed by the signal (migration 0026, queue/lane-hints.ts): a stage woken by the
// router's flush claims only the lanes the flush wrote, and every lane is still looked at whenever
// the hints may be incomplete, so a lane nobody named is never left behind.
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { createLogger } from '../../src/logger.ts';
import { insertMessages } from '../../src/messages/messages.repository.ts';
import { LaneHints } from '../../src/queue/lane-hints.ts';
import { StageRunner, type Stage } from '../../src/queue/stage-runner.ts';
import { createRoutingStage } from '../../src/routing/routing.stage.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createQueueClient, newMessage } from '../helpers/queue.ts';

describe('LaneHints', () => {
  const clock = () => {
    let now = 1_000_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  test('the first claim, and a claim with no hint since the last, look at every lane', () => {
    const hints = new LaneHints(1_000, clock().now);
    expect(hints.take()).toBeUndefined();
    expect(hints.take()).toBeUndefined();
  });

  test('lanes named since the last claim narrow the next claim, once', () => {
    const time = clock();
    const hints = new LaneHints(1_000, time.now);
    hints.take();
    hints.note(['7', '3']);
    hints.note(['3']);
    expect(hints.take()).toEqual([3, 7]);
    expect(hints.take()).toBeUndefined();
  });

  test('a signal that names no lane, or a key that is not a lane, looks at every lane', () => {
    const hints = new LaneHints(1_000, clock().now);
    hints.take();
    hints.note(['2']);
    hints.note(undefined);
    expect(hints.take()).toBeUndefined();
    hints.note(['2', 'lane-two']);
    expect(hints.take()).toBeUndefined();
    hints.note([]);
    expect(hints.take()).toBeUndefined();
  });

  test('every lane is looked at once per full-check interval, even while hints keep coming', () => {
    const time = clock();
    const hints = new LaneHints(1_000, time.now);
    hints.take(); // a full look now
    const looks: (number[] | undefined)[] = [];
    for (let i = 0; i < 25; i++) {
      time.advance(100);
      hints.note(['1']);
      looks.push(hints.take());
    }
    // 2.5 s of hints: full looks at 1.0 s and 2.0 s, the named lane otherwise
    expect(looks.filter((look) => look === undefined)).toHaveLength(2);
    expect(looks[9]).toBeUndefined();
    expect(looks[19]).toBeUndefined();
    expect(looks.filter((look) => look !== undefined).every((look) => look!.length === 1 && look![0] === 1)).toBe(true);
  });
});

describe('lane claims narrowed by the signal', () => {
  const log = createLogger('silent');
  let database: TestDatabase;
  let db: Db;
  /** Topics whose conversations fall in lanes 0, 1 and 2 of the 16. */
  const topics: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.db;
    for (let lane = 0; lane < 3; lane++) {
      const row = await sql<{ name: string }>`
        select 'lh' || n as name from generate_series(1, 1000) n where switchyard.lane_of('topic:lh' || n) = ${lane} limit 1`.execute(db);
      topics.push(row.rows[0]!.name);
    }
  });

  afterAll(async () => {
    await database?.drop();
  });

  beforeEach(async () => {
    await sql`truncate switchyard.message, switchyard.delivery, switchyard.stage_retry`.execute(db);
    await sql`delete from switchyard.client`.execute(db);
    await sql`update switchyard.stage_cursor set prev = pg_current_snapshot(), target = null, pos_xid = null, pos_id = null`.execute(db);
    for (const topic of topics) await createQueueClient(db, topic);
  });

  const publish = async (topic: string, n = 1) =>
    insertMessages(db, Array.from({ length: n }, () => newMessage(`topic:${topic}`)), 300);

  const deliveredTo = async (topic: string) => Number((await sql<{ n: number }>`
    select count(*)::int as n from switchyard.delivery d join switchyard.client c on c.id = d.client_id where c.name = ${topic}`.execute(db)).rows[0]!.n);

  /** Claims in a transaction that is rolled back, so the cursors stay as they were. */
  const claimAndRelease = (lanes: number[] | undefined) => db.connection().execute(async (conn) => {
    await sql`begin`.execute(conn);
    try {
      const row = await sql<{ lanes: number[] }>`select switchyard.claim_lanes('routing', 16, ${lanes ?? null}::smallint[]) as lanes`.execute(conn);
      return row.rows[0]!.lanes.sort((a, b) => a - b);
    } finally {
      await sql`rollback`.execute(conn);
    }
  });

  test('an append names the lanes it wrote, as the log stores them', async () => {
    const appended = await insertMessages(db, [
      newMessage(`topic:${topics[2]}`), newMessage(`topic:${topics[0]}`), newMessage(`topic:${topics[2]}`), newMessage('user:someone', { sender: 'user:other' }),
    ], 300);
    const stored = await sql<{ lane: number }>`select distinct lane from switchyard.message`.execute(db);
    expect([...appended.lanes].sort((a, b) => a - b)).toEqual(stored.rows.map((row) => row.lane).sort((a, b) => a - b));
  });

  test('a claim given lanes takes only those with work; without lanes it takes every lane with work', async () => {
    await publish(topics[0]!);
    await publish(topics[1]!);
    expect(await claimAndRelease([0])).toEqual([0]);
    expect(await claimAndRelease([0, 1, 2])).toEqual([0, 1]);
    expect(await claimAndRelease([2])).toEqual([]); // named, but nothing to do there
    expect(await claimAndRelease(undefined)).toEqual([0, 1]);
  });

  test('a claim given lanes still takes a lane whose window is open', async () => {
    await publish(topics[1]!, 3);
    // A batch of one leaves lane 1's window open at its first row.
    const narrow = new StageRunner({ db, log, batchSize: 1, lanesPerClaim: 16, retryLimit: 3, stage: createRoutingStage({ priorityAgingMs: 0, onDelivered: () => undefined }) });
    expect((await narrow.runOnce()).more).toBe(true);
    await publish(topics[0]!);
    expect(await claimAndRelease([0])).toEqual([0, 1]);
  });

  // Both of the runner's paths: the routing batch in one statement, and the general path.
  const stages: Record<string, () => Stage> = {
    'one statement': () => createRoutingStage({ priorityAgingMs: 0, onDelivered: () => undefined }),
    'general path': () => {
      const { runInOneStatement: _, ...general } = createRoutingStage({ priorityAgingMs: 0, onDelivered: () => undefined });
      return general;
    },
  };

  for (const [path, stage] of Object.entries(stages)) {
    test(`${path}: a lane the hints did not name is routed by the next full look, at the latest one full-check interval later`, async () => {
      let now = 5_000_000;
      const runner = new StageRunner({
        db, log, batchSize: 50, lanesPerClaim: 16, retryLimit: 3, stage: stage(), fullLaneCheckMs: 1_000, now: () => new Date(now),
      });
      await runner.runOnce(); // the first run looks at every lane (there is nothing yet)
      const hinted = await publish(topics[0]!, 2);
      await publish(topics[1]!, 3); // no signal for this one (as if its NOTIFY were lost)
      runner.noteNewRows(hinted.lanes.map(String));
      expect((await runner.runOnce()).processed).toBe(2);
      expect(await deliveredTo(topics[0]!)).toBe(2);
      expect(await deliveredTo(topics[1]!)).toBe(0);

      // Hints keep naming lane 0 only: within the interval, lane 1 waits.
      now += 500;
      runner.noteNewRows((await publish(topics[0]!)).lanes.map(String));
      expect((await runner.runOnce()).processed).toBe(1);
      expect(await deliveredTo(topics[1]!)).toBe(0);

      // Past the interval the claim looks at every lane, hints or not.
      now += 500;
      runner.noteNewRows((await publish(topics[0]!)).lanes.map(String));
      expect((await runner.runOnce()).processed).toBe(4);
      expect(await deliveredTo(topics[0]!)).toBe(4);
      expect(await deliveredTo(topics[1]!)).toBe(3);
    });

    test(`${path}: a run with no hint since the last looks at every lane`, async () => {
      const runner = new StageRunner({ db, log, batchSize: 50, lanesPerClaim: 16, retryLimit: 3, stage: stage(), fullLaneCheckMs: 60_000, now: () => new Date(7_000_000) });
      await runner.runOnce();
      await publish(topics[2]!, 2);
      expect((await runner.runOnce()).processed).toBe(2);
      expect(await deliveredTo(topics[2]!)).toBe(2);
    });
  }
});
