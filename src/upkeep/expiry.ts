// One pass of expiry, run by pg-boss every minute (singleton across replicas), batch by batch
// until each kind is done.
import type { Db } from '../db/database.ts';
import { deleteExpiredKeys } from '../idempotency/idempotency.service.ts';
import type { Logger } from '../log.ts';
import { deleteExpiredDedup, deleteExpiredDeliveries, deleteOldDeadLetters } from './expiry.repository.ts';

const BATCH = 5_000;

export interface ExpiryResult {
  dedup: number;
  deliveries: number;
  deadLetters: number;
  idempotencyKeys: number;
}

async function untilDone(batch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await batch();
    total += n;
    if (n < BATCH) return total;
  }
}

export async function runExpiry(db: Db, deadLetterRetentionDays: number, log: Logger): Promise<ExpiryResult> {
  const result = {
    dedup: await untilDone(() => deleteExpiredDedup(db, BATCH)),
    deliveries: await untilDone(() => deleteExpiredDeliveries(db, BATCH)),
    deadLetters: await untilDone(() => deleteOldDeadLetters(db, deadLetterRetentionDays, BATCH)),
    idempotencyKeys: await deleteExpiredKeys(db),
  };
  if (result.deliveries > 0 || result.deadLetters > 0 || result.idempotencyKeys > 0) log.info('expiry', { ...result });
  return result;
}
