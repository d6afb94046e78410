// Knobs nobody should tune: numbers we can pick well for almost everyone (river's rule), so they
// are constants rather than environment variables. They sit in Config beside the settings so the
// code reads them in one place, and tests may tighten them (loadConfig's second argument).

export const TUNING = {
  db: {
    // Long enough for any transaction of ours; short enough that a stuck one cannot hold vacuum back for long.
    idleInTransactionTimeoutMs: 60_000,
  },
  stages: {
    // Log rows per lane per batch and lanes per transaction: measured best in the prototype (DESIGN.md).
    batchSize: 500,
    lanesPerClaim: 8,
    // Persistence and analytics, once caught up, wait this long before reading again, so a run takes
    // everything that arrived meanwhile: at 1,000 messages/s about 20 transactions a second instead of
    // one per wake-up. Routing never waits.
    batchWaitMs: 50,
    // A message that fails its stage five times fails for a reason retrying will not fix.
    retryLimit: 5,
  },
  ingest: {
    // Messages per group-commit INSERT and INSERTs in flight: past these batches grow no cheaper per row.
    maxBatch: 1_000,
    concurrentFlushes: 4,
  },
  inbox: {
    // The `retry:` a stream announces: browsers reconnect after 2 s, soon but not in a storm.
    retryMs: 2_000,
  },
  retention: {
    // Log partitions created this far ahead: a week of upkeep outages before a publish has nowhere to go.
    partitionsAheadDays: 7,
  },
  // Tokens, memberships, topic policies and schemas are cached this long. Every change drops the
  // cached copies in all processes at once (config signal), and a listener reconnect drops them all:
  // the limit only covers a notification lost some other way. Long, because every open SSE stream
  // re-checks its token on each heartbeat, and a short limit would turn that into queries.
  authCacheMs: 300_000,
  delivery: {
    // Each priority step moves a message ahead by this much: a low priority waits a bounded time.
    priorityAgingMs: 10_000,
    // The service's queue policy; each client's own is set with PUT /v1/admin/clients/{id}/queue-policy.
    maxReceives: 10,
    nackBackoffBaseMs: 1_000,
    nackBackoffCapMs: 600_000,
    maxLength: 1_000_000,
    overflow: 'reject' as 'reject' | 'dead_letter',
    // Queues are counted (limits, statistics, backpressure) this often: fresh enough for a 429.
    statsMs: 2_000,
  },
  // Delivery latencies are written this often: analytics is minutes, not milliseconds.
  analyticsFlushMs: 5_000,
  dashboard: {
    // As often as queues are counted (delivery.statsMs): pushing more often shows the same numbers.
    pushMs: 2_000,
    // A working day: a login is cheap to repeat, and a forgotten tab does not stay an admin forever.
    sessionHours: 12,
  },
  metrics: {
    // Operator numbers (/metrics, /v1/admin/scaling) are read from a snapshot at most this old.
    cacheMs: 2_000,
    // Queues labelled by client in /metrics: the deepest ten, never one series per client.
    topQueues: 10,
  },
};

export type Tuning = typeof TUNING;

/** Any part of the tuning, for tests that need shorter intervals or smaller bounds. */
export type TuningOverrides = { [K in keyof Tuning]?: Tuning[K] extends object ? Partial<Tuning[K]> : Tuning[K] };
