// Scheduled upkeep through pg-boss: cron schedules fire once per tick across all replicas, and the
// queue's singleton policy keeps one run at a time. Only background jobs go through pg-boss; the
// per-message path uses Switchyard's own tables.
import { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.ts';
import { deleteExpiredKeys } from '../idempotency/idempotency.service.ts';
import type { Logger } from '../log.ts';
import { runPartitionUpkeep, type PartitionUpkeepOptions } from './partition-upkeep.ts';

export const BOSS_SCHEMA = 'switchyard_boss';
const PARTITIONS_JOB = 'switchyard-partitions';
const PARTITIONS_CRON = '*/10 * * * *';
const IDEMPOTENCY_KEYS_JOB = 'switchyard-idempotency-keys';
const IDEMPOTENCY_KEYS_CRON = '5-59/10 * * * *'; // between partition runs

export interface Upkeep {
  stop(): Promise<void>;
}

export async function startUpkeep(url: string, db: Db, options: PartitionUpkeepOptions, log: Logger): Promise<Upkeep> {
  const boss = new PgBoss({ connectionString: url, schema: BOSS_SCHEMA, max: 3, application_name: 'switchyard:upkeep' });
  boss.on('error', (error: Error) => log.error('pg-boss error', { error: error.message }));
  await boss.start();
  await boss.createQueue(PARTITIONS_JOB, { policy: 'singleton', retryLimit: 3, retryDelay: 60, expireInSeconds: 600 });
  await boss.schedule(PARTITIONS_JOB, PARTITIONS_CRON);
  await boss.work(PARTITIONS_JOB, async () => {
    await runPartitionUpkeep(db, options, log);
  });
  // Expired Idempotency-Keys: a claim may reuse one at once, but the table must not grow forever.
  await boss.createQueue(IDEMPOTENCY_KEYS_JOB, { policy: 'singleton', retryLimit: 3, retryDelay: 60, expireInSeconds: 600 });
  await boss.schedule(IDEMPOTENCY_KEYS_JOB, IDEMPOTENCY_KEYS_CRON);
  await boss.work(IDEMPOTENCY_KEYS_JOB, async () => {
    const deleted = await deleteExpiredKeys(db);
    if (deleted > 0) log.info('expired idempotency keys deleted', { deleted });
  });
  return { stop: () => boss.stop({ graceful: true, timeout: 10_000 }) };
}
