// Variables earlier versions read that are now constants (tuning.ts). Setting one changes nothing:
// `serve` warns and `switchyard config` lists it, so an operator learns why, instead of guessing.
export const RETIRED_SETTINGS: Readonly<Record<string, string>> = {
  SWITCHYARD_IDLE_IN_TRANSACTION_TIMEOUT_MS: 'db.idleInTransactionTimeoutMs',
  SWITCHYARD_STAGE_BATCH_SIZE: 'stages.batchSize',
  SWITCHYARD_STAGE_LANES_PER_CLAIM: 'stages.lanesPerClaim',
  SWITCHYARD_STAGE_BATCH_WAIT_MS: 'stages.batchWaitMs',
  SWITCHYARD_STAGE_RETRY_LIMIT: 'stages.retryLimit',
  SWITCHYARD_INGEST_MAX_BATCH: 'ingest.maxBatch',
  SWITCHYARD_INGEST_CONCURRENT_FLUSHES: 'ingest.concurrentFlushes',
  SWITCHYARD_SSE_RETRY_MS: 'inbox.retryMs',
  SWITCHYARD_PARTITIONS_AHEAD_DAYS: 'retention.partitionsAheadDays',
  SWITCHYARD_AUTH_CACHE_MS: 'authCacheMs',
  SWITCHYARD_PRIORITY_AGING_MS: 'delivery.priorityAgingMs',
  SWITCHYARD_MAX_RECEIVES: 'delivery.maxReceives (per client: PUT /v1/admin/clients/{id}/queue-policy)',
  SWITCHYARD_NACK_BACKOFF_BASE_MS: 'delivery.nackBackoffBaseMs (per client: PUT /v1/admin/clients/{id}/queue-policy)',
  SWITCHYARD_NACK_BACKOFF_CAP_MS: 'delivery.nackBackoffCapMs (per client: PUT /v1/admin/clients/{id}/queue-policy)',
  SWITCHYARD_QUEUE_MAX_LENGTH: 'delivery.maxLength (per client: PUT /v1/admin/clients/{id}/queue-policy)',
  SWITCHYARD_QUEUE_OVERFLOW: 'delivery.overflow (per client: PUT /v1/admin/clients/{id}/queue-policy)',
  SWITCHYARD_QUEUE_STATS_MS: 'delivery.statsMs',
  SWITCHYARD_ANALYTICS_FLUSH_MS: 'analyticsFlushMs',
  SWITCHYARD_DASHBOARD_PUSH_MS: 'dashboard.pushMs',
  SWITCHYARD_DASHBOARD_SESSION_HOURS: 'dashboard.sessionHours',
  SWITCHYARD_METRICS_CACHE_MS: 'metrics.cacheMs',
  SWITCHYARD_METRICS_TOP_QUEUES: 'metrics.topQueues',
  SWITCHYARD_METRICS_ROWS_BEHIND_CAP: 'STAGE_ROWS_BEHIND_CAP in ops/ops-snapshot.ts',
};

/** The retired variables env sets (empty ones count as unset). */
export function retiredSettingsIn(env: Record<string, string | undefined>): string[] {
  return Object.keys(RETIRED_SETTINGS).filter((name) => env[name] !== undefined && env[name] !== '');
}
