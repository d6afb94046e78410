// Partition upkeep: partitions exist ahead of time; an expired log partition is dropped only once
// every stage has passed it and nothing still points into it; rollups older than their retention
// are deleted; pg-boss runs it all on a schedule.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Db } from '../src/db/database.ts';
import { DETECTOR_DEFAULTS } from '../src/analytics/anomaly-series.ts';
import { createLogger } from '../src/logger.ts';
import { runExpiry } from '../src/upkeep/expiry.ts';
import { ensurePartitions, runPartitionUpkeep } from '../src/upkeep/partition-upkeep.ts';
import { BOSS_SCHEMA, startUpkeep } from '../src/upkeep/upkeep.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

const log = createLogger('silent');
const options = { aheadDays: 3, logRetentionHours: 24, historyRetentionDays: 30, receiptRetentionDays: 30, deadLetterRetentionDays: 14,
  publisherStatsRetentionDays: 7, analyticsRetentionDays: 30 };
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
});

afterAll(async () => {
  await database?.drop();
});

async function partitions(table: string): Promise<string[]> {
  const result = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = ${`switchyard.${table}`}::regclass order by 1`.execute(db);
  return result.rows.map((r) => r.name);
}

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');

test('partitions are created for the days ahead, and creating them again changes nothing', async () => {
  await ensurePartitions(db, 10);
  const names = await partitions('message');
  for (let offset = 0; offset <= 10; offset++) expect(names).toContain(`message_p${day(offset)}`);
  expect(await ensurePartitions(db, 10)).toBe(0);
});

test('an expired log partition stays while a stage or a delivery (claimed or pending) still needs it, then is dropped', async () => {
  await sql`create table switchyard.message_p20200101 partition of switchyard.message
            for values from (switchyard.uuid_floor('2020-01-01')) to (switchyard.uuid_floor('2020-01-02'))`.execute(db);
  const old = `${(await sql<{ id: string }>`select switchyard.uuid_floor('2020-01-01 12:00') as id`.execute(db)).rows[0]!.id}`;
  await sql`insert into switchyard.message (id, lane, sender, to_address, conversation, payload)
            values (${old}::uuid, 0, 'system', 'topic:old', 'topic:old', '1')`.execute(db);

  // The stages have not read it yet.
  expect((await runPartitionUpkeep(db, options, log)).kept).toContain('message_p20200101');

  // The stages have read it, but a delivery still needs its payload.
  await sql`update switchyard.stage_cursor set prev = pg_current_snapshot(), target = null, pos_xid = null, pos_id = null`.execute(db);
  await sql`insert into switchyard.delivery (client_id, message_id, sort_key, visible_at) values (1, ${old}::uuid, now(), now())`.execute(db);
  expect((await runPartitionUpkeep(db, options, log)).kept).toContain('message_p20200101');

  // A pending delivery (due beyond the horizon) needs it as much.
  await sql`delete from switchyard.delivery`.execute(db);
  await sql`insert into switchyard.delivery_pending (client_id, message_id, due_at, sort_key, priority)
            values (1, ${old}::uuid, now() + interval '300 days', now(), 0)`.execute(db);
  expect((await runPartitionUpkeep(db, options, log)).kept).toContain('message_p20200101');

  await sql`delete from switchyard.delivery_pending`.execute(db);
  const result = await runPartitionUpkeep(db, options, log);
  expect(result.dropped).toContain('message_p20200101');
  expect(await partitions('message')).not.toContain('message_p20200101');
  // Partitions still within retention are never touched.
  expect(await partitions('message')).toContain(`message_p${day(0)}`);
});

test('history partitions older than the history retention are dropped', async () => {
  await sql`create table switchyard.history_p202001 partition of switchyard.history
            for values from (switchyard.uuid_floor('2020-01-01')) to (switchyard.uuid_floor('2020-02-01'))`.execute(db);
  expect((await runPartitionUpkeep(db, options, log)).dropped).toContain('history_p202001');
  expect(await partitions('history')).not.toContain('history_p202001');
});

test('expiry deletes the per-minute analytics older than their retention and keeps the rest', async () => {
  await sql`insert into switchyard.analytics_minute (minute, address, published)
            values (date_trunc('minute', now() - interval '31 days'), 'topic:old', 3),
                   (date_trunc('minute', now() - interval '29 days'), 'topic:kept', 2),
                   (date_trunc('minute', now()), 'topic:kept', 1)`.execute(db);
  expect((await runExpiry(db, options, log)).analyticsMinutes).toBe(1);
  const left = await sql<{ address: string; published: string }>`
    select address, published from switchyard.analytics_minute order by minute`.execute(db);
  expect(left.rows).toEqual([{ address: 'topic:kept', published: '2' }, { address: 'topic:kept', published: '1' }]);
  expect((await runExpiry(db, options, log)).analyticsMinutes).toBe(0);
});

test('expiry deletes labels older than history, closed anomalies and sender minutes older than the rollups, and all but the newest 5 models', async () => {
  await sql`insert into switchyard.message_label (message_id, topic, label, score, model_version, labelled_at)
            values (switchyard.uuidv7(), 'chat', 'spam', 0.9, 1, now() - interval '31 days'),
                   (switchyard.uuidv7(), 'chat', 'ham', 0.9, 1, now() - interval '29 days')`.execute(db);
  await sql`insert into switchyard.anomaly (series_kind, series_key, window_start, observed, band_low, band_high, direction, severity, state)
            select 'count', 'topic:a', now() - make_interval(days => d), 1, 0, 0, 'spike', 1, s
            from (values (31, 'closed'), (31, 'open'), (29, 'closed')) as v(d, s)`.execute(db);
  await sql`insert into switchyard.classifier_model (version, trained_at, corpus_examples, taught_examples, model)
            select v, now(), 0, 0, '[]' from generate_series(1, 7) v`.execute(db);
  await sql`insert into switchyard.analytics_sender_minute (minute, sender, published)
            values (date_trunc('minute', now() - interval '31 days'), 'user:old', 1), (date_trunc('minute', now()), 'user:new', 1)`.execute(db);
  const result = await runExpiry(db, { ...options, historyRetentionDays: 30 }, log);
  expect({ labels: result.messageLabels, anomalies: result.anomalies, models: result.classifierModels, senderMinutes: result.senderMinutes })
    .toEqual({ labels: 1, anomalies: 1, models: 2, senderMinutes: 1 });
  const left = await sql<{ labels: number; open: number; oldest: number }>`
    select (select count(*)::int from switchyard.message_label) as labels,
           (select count(*)::int from switchyard.anomaly where state = 'open') as open,
           (select min(version) from switchyard.classifier_model) as oldest`.execute(db);
  expect(left.rows[0]).toEqual({ labels: 1, open: 1, oldest: 3 });
});

test('pg-boss holds the upkeep schedule, and the upkeep starts and stops cleanly', async () => {
  const upkeep = await startUpkeep(database.url, db, { ...options, anomalySettings: DETECTOR_DEFAULTS }, log);
  try {
    const schedules = await sql<{ name: string; cron: string }>`select name, cron from ${sql.id(BOSS_SCHEMA, 'schedule')}`.execute(db);
    expect(schedules.rows).toContainEqual(expect.objectContaining({ name: 'switchyard-partitions' }));
    expect(schedules.rows).toContainEqual({ name: 'switchyard-delay-mover', cron: '* * * * *' });
    expect(schedules.rows).toContainEqual(expect.objectContaining({ name: 'switchyard-classifier-retrain' }));
    expect(schedules.rows).toContainEqual(expect.objectContaining({ name: 'switchyard-anomaly-detection' }));
  } finally {
    await upkeep.stop();
  }
});
