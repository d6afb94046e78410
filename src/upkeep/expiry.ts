// One pass of expiry, run by pg-boss every minute (singleton across replicas), batch by batch
// until each kind is done.
import type { Db } from '../db/database.ts';
import { deleteExpiredKeys } from '../idempotency/idempotency.service.ts';
import type { Logger } from '../logger.ts';
import {
  deleteExpiredDedup, deleteExpiredDeliveries, deleteOldAnalyticsMinutes, deleteOldAnomalies, deleteOldClassifierModels,
  deleteOldDeadLetters, deleteOldMessageLabels, deleteOldSenderCounts, deleteOldSenderMinutes,
} from './expiry.repository.ts';

const BATCH = 5_000;
/** Classifier versions kept: the one in use and a few before it, to compare or to go back to by SQL. */
const CLASSIFIER_MODELS_KEPT = 5;

export interface ExpiryResult {
  dedup: number;
  deliveries: number;
  deadLetters: number;
  idempotencyKeys: number;
  senderCounts: number;
  analyticsMinutes: number;
  senderMinutes: number;
  messageLabels: number;
  anomalies: number;
  classifierModels: number;
}

export interface ExpiryOptions {
  deadLetterRetentionDays: number;
  publisherStatsRetentionDays: number;
  analyticsRetentionDays: number;
  historyRetentionDays: number;
}

async function untilDone(batch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await batch();
    total += n;
    if (n < BATCH) return total;
  }
}

export async function runExpiry(db: Db, o: ExpiryOptions, log: Logger): Promise<ExpiryResult> {
  const result = {
    dedup: await untilDone(() => deleteExpiredDedup(db, BATCH)),
    deliveries: await untilDone(() => deleteExpiredDeliveries(db, BATCH)),
    deadLetters: await untilDone(() => deleteOldDeadLetters(db, o.deadLetterRetentionDays, BATCH)),
    idempotencyKeys: await deleteExpiredKeys(db),
    senderCounts: await untilDone(() => deleteOldSenderCounts(db, o.publisherStatsRetentionDays, BATCH)),
    analyticsMinutes: await untilDone(() => deleteOldAnalyticsMinutes(db, o.analyticsRetentionDays, BATCH)),
    senderMinutes: await untilDone(() => deleteOldSenderMinutes(db, o.analyticsRetentionDays, BATCH)),
    messageLabels: await untilDone(() => deleteOldMessageLabels(db, o.historyRetentionDays, BATCH)),
    anomalies: await untilDone(() => deleteOldAnomalies(db, o.analyticsRetentionDays, BATCH)),
    classifierModels: await deleteOldClassifierModels(db, CLASSIFIER_MODELS_KEPT),
  };
  if (result.deliveries > 0 || result.deadLetters > 0 || result.idempotencyKeys > 0) log.info('expiry', { ...result });
  return result;
}
