// Scheduled upkeep through pg-boss: cron schedules fire once per tick across all replicas, and the
// queue's singleton policy keeps one run at a time. Only background jobs go through pg-boss; the
// per-message path uses Switchyard's own tables.
import { PgBoss } from 'pg-boss';
import { runAnomalyDetection } from '../analytics/anomaly-detection.ts';
import type { DetectorSettings } from '../analytics/seasonal-detector.ts';
import type { SeriesKind } from '../db/schema.ts';
import { retrainClassifier } from '../analytics/classifier-training.ts';
import type { Db } from '../db/database.ts';
import type { DatabaseConnection } from '../db/primary-picker.ts';
import type { Logger } from '../logger.ts';
import { runDelayMover } from './delay-mover.ts';
import { runExpiry, type ExpiryOptions } from './expiry.ts';
import { runPartitionUpkeep, type PartitionUpkeepOptions } from './partition-upkeep.ts';

export const BOSS_SCHEMA = 'switchyard_boss';
const PARTITIONS_JOB = 'switchyard-partitions';
const PARTITIONS_CRON = '*/10 * * * *';
const EXPIRY_JOB = 'switchyard-expiry';
const EXPIRY_CRON = '* * * * *';
const DELAY_MOVER_JOB = 'switchyard-delay-mover';
const DELAY_MOVER_CRON = '* * * * *'; // pg-boss's finest schedule; MOVE_AHEAD_SECONDS leaves room for it
// Retraining looks once a minute for what operators taught since the last model (and trains the
// starter model on first start). Training blocks this process's event loop for a second or two.
const RETRAIN_JOB = 'switchyard-classifier-retrain';
const RETRAIN_CRON = '* * * * *';
const ANOMALY_JOB = 'switchyard-anomaly-detection';
const ANOMALY_CRON = '* * * * *';

export interface Upkeep {
  stop(): Promise<void>;
}

export interface UpkeepOptions extends PartitionUpkeepOptions, ExpiryOptions {
  anomalySettings: Record<SeriesKind, DetectorSettings>;
}

/** stream: set when DATABASE_URL names several hosts (db/primary-picker.ts). */
export async function startUpkeep(url: string, db: Db, options: UpkeepOptions, log: Logger, stream?: DatabaseConnection['stream']): Promise<Upkeep> {
  // pg-boss hands its options to pg.Pool as they are: with `stream`, its connections follow the primary too.
  const followPrimary = stream ? { stream } : {};
  const boss = new PgBoss({ connectionString: url, schema: BOSS_SCHEMA, max: 3, application_name: 'switchyard:upkeep', ...followPrimary });
  boss.on('error', (error: Error) => log.error('pg-boss error', { error: error.message }));
  await boss.start();
  await boss.createQueue(PARTITIONS_JOB, { policy: 'singleton', retryLimit: 3, retryDelay: 60, expireInSeconds: 600 });
  await boss.schedule(PARTITIONS_JOB, PARTITIONS_CRON);
  await boss.work(PARTITIONS_JOB, async () => {
    await runPartitionUpkeep(db, options, log);
  });
  await boss.createQueue(EXPIRY_JOB, { policy: 'singleton', retryLimit: 3, retryDelay: 30, expireInSeconds: 600 });
  await boss.schedule(EXPIRY_JOB, EXPIRY_CRON);
  await boss.work(EXPIRY_JOB, async () => {
    await runExpiry(db, options, log);
  });
  await boss.createQueue(DELAY_MOVER_JOB, { policy: 'singleton', retryLimit: 3, retryDelay: 10, expireInSeconds: 300 });
  await boss.schedule(DELAY_MOVER_JOB, DELAY_MOVER_CRON);
  await boss.work(DELAY_MOVER_JOB, async () => {
    await runDelayMover(db, log);
  });
  await boss.createQueue(RETRAIN_JOB, { policy: 'singleton', retryLimit: 3, retryDelay: 60, expireInSeconds: 600 });
  await boss.schedule(RETRAIN_JOB, RETRAIN_CRON);
  await boss.work(RETRAIN_JOB, async () => {
    await retrainClassifier(db, { now: () => new Date(), log });
  });
  await boss.send(RETRAIN_JOB, {}); // the starter model now, not at the next minute
  await boss.createQueue(ANOMALY_JOB, { policy: 'singleton', retryLimit: 1, retryDelay: 30, expireInSeconds: 300 });
  await boss.schedule(ANOMALY_JOB, ANOMALY_CRON);
  await boss.work(ANOMALY_JOB, async () => {
    await runAnomalyDetection(db, { now: () => new Date(), settings: options.anomalySettings, log });
  });
  return { stop: () => boss.stop({ graceful: true, timeout: 10_000 }) };
}
