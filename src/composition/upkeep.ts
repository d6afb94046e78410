// The upkeep role: partitions, retention and the anomaly job, scheduled by pg-boss once across
// all replicas, connected as the owner (it drops partitions and keeps pg-boss's tables).
import { detectorSettings } from '../analytics/anomaly-series.ts';
import type { DatabaseConnection } from '../db/primary-picker.ts';
import { startUpkeep } from '../upkeep/upkeep.ts';
import type { Wiring } from './wiring.ts';

export async function wireUpkeep({ config, log, pools, teardown }: Wiring, ownerUrl: string, stream: DatabaseConnection['stream']): Promise<void> {
  const upkeep = await startUpkeep(ownerUrl, pools.ownerDb, {
    aheadDays: config.retention.partitionsAheadDays,
    logRetentionHours: config.retention.logHours,
    historyRetentionDays: config.retention.historyDays,
    receiptRetentionDays: config.retention.receiptDays,
    deadLetterRetentionDays: config.delivery.deadLetterRetentionDays,
    publisherStatsRetentionDays: config.retention.publisherStatsDays,
    analyticsRetentionDays: config.retention.analyticsDays,
    anomalySettings: detectorSettings(config.anomaly.k, config.anomaly.direction),
  }, log.child({ component: 'upkeep' }), stream);
  teardown.push('scheduler', () => upkeep.stop());
}
