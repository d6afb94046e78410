// One source for the operator numbers: /metrics, the dashboard feed and backpressure read the same
// snapshot, taken once per interval, with one cap on the rows counted behind a stage; backpressure,
// which needs only the lag, reads the lag alone when no snapshot is fresh.
import { sql, type KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { DashboardFeed } from '../src/dashboard/dashboard-feed.ts';
import { FullQueues } from '../src/inbox/full-queues.ts';
import { createLogger } from '../src/logger.ts';
import { Backpressure } from '../src/messages/backpressure.ts';
import { insertMessages } from '../src/messages/messages.repository.ts';
import { Metrics } from '../src/ops/metrics.ts';
import { OpsSnapshots, STAGE_ROWS_BEHIND_CAP } from '../src/ops/ops-snapshot.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { newMessage } from './helpers/queue.ts';

const CACHE_MS = 60_000;

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

/**
 * A Db that counts the statements asking switchyard.stage_lag(), the costliest read of a snapshot,
 * and notes the row cap each asked for (0: the lag alone, no rows counted).
 */
function countingStageLagReads() {
  const counter = { reads: 0, rowCaps: [] as unknown[] };
  const plugin: KyselyPlugin = {
    transformQuery: ({ node }) => {
      if (node.kind === 'RawNode' && node.sqlFragments.join('').includes('switchyard.stage_lag(')) {
        counter.reads += 1;
        counter.rowCaps.push((node.parameters[0] as { value?: unknown } | undefined)?.value);
      }
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  return { db: database.db.withPlugin(plugin), counter };
}

function consumers(now: () => number) {
  const { db, counter } = countingStageLagReads();
  const config = loadConfig({});
  const log = createLogger('silent');
  const snapshots = new OpsSnapshots(db, { cacheMs: CACHE_MS, topQueues: 10, now });
  const metrics = new Metrics({ snapshots, scaling: config.scaling, log });
  const dashboard = new DashboardFeed(snapshots, db, { intervalMs: 1_000, log, stopTimeoutMs: 1_000 });
  const backpressure = new Backpressure(snapshots, {
    fullQueues: new FullQueues(db, { maxLength: 1_000_000, overflow: 'reject' }),
    lagSeconds: 0.000_001, // any lag at all holds publishing back, so the test can see which lag it read
    stages: ['routing'],
  });
  return { counter, snapshots, metrics, dashboard, backpressure };
}

const gauge = (text: string, name: string, stage: string) =>
  Number(text.split('\n').find((line) => line.startsWith(`${name}{stage="${stage}"}`))?.split(' ').at(-1));

test('metrics, the dashboard and backpressure see the same figures from one read per interval', async () => {
  let clock = Date.now();
  const { counter, snapshots, metrics, dashboard, backpressure } = consumers(() => clock);
  await insertMessages(database.db, [newMessage('topic:one-read')], 300);

  const text = await metrics.render();
  const feed = await dashboard.current();
  await backpressure.refresh();
  expect(counter.reads).toBe(1);

  const snapshot = await snapshots.current();
  const routing = snapshot.stages.find((s) => s.stage === 'routing')!;
  expect(routing.rowsBehind).toBe(1);
  expect(gauge(text, 'switchyard_stage_lag_seconds', 'routing')).toBe(routing.lagSeconds);
  expect(gauge(text, 'switchyard_stage_rows_behind', 'routing')).toBe(1);
  expect(feed.at).toBe(snapshot.takenAt.toISOString());
  expect(feed.stages.find((s) => s.stage === 'routing')).toEqual({
    stage: 'routing', lag_seconds: routing.lagSeconds, rows_behind: 1, rows_capped: false,
  });
  expect(backpressure.lagging).toEqual({ stage: 'routing', lagSeconds: routing.lagSeconds });

  // Within the interval a second round of asking reads nothing; past it, one read serves all again.
  await metrics.render();
  await dashboard.current();
  await backpressure.refresh();
  expect(counter.reads).toBe(1);
  clock += CACHE_MS;
  await insertMessages(database.db, [newMessage('topic:one-read')], 300);
  await Promise.all([metrics.render(), dashboard.current(), backpressure.refresh()]);
  expect(counter.reads).toBe(2);
  expect((await dashboard.current()).stages.find((s) => s.stage === 'routing')?.rows_behind).toBe(2);
  await dashboard.stop();
});

test(`rows behind a stage are counted up to ${STAGE_ROWS_BEHIND_CAP} per lane for every reader`, async () => {
  const { metrics, dashboard, snapshots } = consumers(Date.now);
  const lane = (n: number) => Array.from({ length: n }, () => newMessage('topic:capped', { sender: 'user:capped' }));
  // One conversation, one lane: the lane holds one row more than the cap (plus the two above, in another lane).
  await insertMessages(database.db, lane(STAGE_ROWS_BEHIND_CAP + 1), 300);

  const snapshot = await snapshots.current();
  const persistence = snapshot.stages.find((s) => s.stage === 'persistence')!;
  // Nothing has passed persistence: every lane counts its rows, up to the cap.
  const counted = await sql<{ n: number }>`
    select sum(least(n, ${STAGE_ROWS_BEHIND_CAP}))::int as n from (select count(*) as n from switchyard.message group by lane) lanes`.execute(database.db);
  expect(persistence.rowsCapped).toBe(true);
  expect(persistence.rowsBehind).toBe(counted.rows[0]!.n);
  expect(persistence.rowsBehind).toBeLessThan(STAGE_ROWS_BEHIND_CAP + 1 + 2);
  const text = await metrics.render();
  expect(gauge(text, 'switchyard_stage_rows_behind', 'persistence')).toBe(persistence.rowsBehind);
  expect(gauge(text, 'switchyard_stage_rows_behind_capped', 'persistence')).toBe(1);
  expect((await dashboard.current()).stages.find((s) => s.stage === 'persistence')).toMatchObject({
    rows_behind: persistence.rowsBehind, rows_capped: true,
  });
  await dashboard.stop();
});

test('backpressure with no fresh snapshot reads the lag alone, once per interval, and a snapshot taken later serves it', async () => {
  let clock = Date.now();
  const { counter, metrics, backpressure } = consumers(() => clock);
  await insertMessages(database.db, [newMessage('topic:lag-alone')], 300);

  await backpressure.refresh();
  await backpressure.refresh();
  expect(counter.rowCaps).toEqual([0]); // one read within the interval, without the rows-behind count
  expect(backpressure.lagging).toMatchObject({ stage: 'routing' });
  expect(backpressure.lagging!.lagSeconds).toBeGreaterThan(0);

  await metrics.render(); // /metrics needs the whole round: the lag read alone does not stand in for it
  expect(counter.rowCaps).toEqual([0, STAGE_ROWS_BEHIND_CAP]);
  clock += CACHE_MS / 2;
  await backpressure.refresh(); // the fresh snapshot serves backpressure: nothing more is read
  expect(counter.reads).toBe(2);
  clock += CACHE_MS;
  await backpressure.refresh();
  expect(counter.rowCaps).toEqual([0, STAGE_ROWS_BEHIND_CAP, 0]);
});
