// One pass of partition upkeep; run by pg-boss on a schedule (singleton across replicas) and once
// at start-up, so a service that was down for a week still has partitions to write into.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { createPartitions, dropPartition, isLogPartitionDone, listPartitionsEndingBefore } from './partitions.repository.ts';

export interface PartitionUpkeepOptions {
  aheadDays: number;
  logRetentionHours: number;
  historyRetentionDays: number;
  receiptRetentionDays: number;
}

export interface PartitionUpkeepResult {
  created: number;
  dropped: string[];
  kept: string[];
}

export async function ensurePartitions(db: Db, aheadDays: number, now = Date.now()): Promise<number> {
  const until = new Date(now + aheadDays * 86_400_000);
  return (await createPartitions(db, 'message', until)) + (await createPartitions(db, 'history', until)) +
    (await createPartitions(db, 'delivery_receipt', until));
}

export async function runPartitionUpkeep(db: Db, o: PartitionUpkeepOptions, log: Logger, now = Date.now()): Promise<PartitionUpkeepResult> {
  const created = await ensurePartitions(db, o.aheadDays, now);
  const dropped: string[] = [];
  const kept: string[] = [];
  for (const partition of await listPartitionsEndingBefore(db, 'message', new Date(now - o.logRetentionHours * 3_600_000))) {
    if (await isLogPartitionDone(db, partition)) {
      await dropPartition(db, 'message', partition);
      dropped.push(partition.name);
    } else {
      kept.push(partition.name); // a lagging stage or an undelivered message still needs it
    }
  }
  for (const partition of await listPartitionsEndingBefore(db, 'history', new Date(now - o.historyRetentionDays * 86_400_000))) {
    await dropPartition(db, 'history', partition);
    dropped.push(partition.name);
  }
  for (const partition of await listPartitionsEndingBefore(db, 'delivery_receipt', new Date(now - o.receiptRetentionDays * 86_400_000))) {
    await dropPartition(db, 'delivery_receipt', partition);
    dropped.push(partition.name);
  }
  if (created > 0 || dropped.length > 0 || kept.length > 0) log.info('partition upkeep', { created, dropped, kept });
  return { created, dropped, kept };
}
