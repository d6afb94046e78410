// Configuration is read once, from the environment, at start-up (docs/conventions.md, Configuration).
// A bad value names its variable and the process exits before anything opens.
import { z } from 'zod';
import { parseDatabaseUrl } from './db/database-url.ts';
import { SERIES_KINDS, type SeriesKind } from './db/schema.ts';

/** Which way a value must leave its band to count as an anomaly (SWITCHYARD_ANOMALY_DIRECTION). */
export const DIRECTIONS = ['spike', 'drop', 'both'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const ROLES = ['router', 'routing', 'persistence', 'analytics', 'push', 'upkeep'] as const;
export type Role = (typeof ROLES)[number];
export const STAGES: readonly string[] = ['routing', 'persistence', 'analytics'];

export const PORT_DEFAULT = 3000;
export const HOST_DEFAULT = '127.0.0.1';
export const DATA_DIR_DEFAULT = '.switchyard';
export const EMBEDDED_PG_PORT_DEFAULT = 54329;
export const POOL_MAX_DEFAULT = 20;
export const STATEMENT_TIMEOUT_MS_DEFAULT = 30_000;
export const IDLE_IN_TRANSACTION_TIMEOUT_MS_DEFAULT = 60_000;
export const STAGE_BATCH_SIZE_DEFAULT = 500;
export const STAGE_LANES_PER_CLAIM_DEFAULT = 8;
export const STAGE_WORKERS_DEFAULT = 1;
/** Stage workers grow up to this many per stage and process while a backlog lasts. */
export const STAGE_WORKERS_MAX_DEFAULT = 4;
export const STAGE_POLL_MS_DEFAULT = 1_000;
/**
 * Persistence and analytics, once caught up, wait this long before reading again, so a run takes
 * everything that arrived meanwhile: at 1,000 messages/s they run about 20 transactions a second
 * instead of one per wake-up, and leave the cores to the path a receiver is waiting on. Routing
 * never waits.
 */
export const STAGE_BATCH_WAIT_MS_DEFAULT = 50;
export const STAGE_RETRY_LIMIT_DEFAULT = 5;
export const INGEST_MAX_BATCH_DEFAULT = 1_000;
export const INGEST_CONCURRENT_FLUSHES_DEFAULT = 4;
// Admission control: what may wait for a group-commit flush before publishes are refused with
// 503 Overloaded. The wait bound is far below the timeouts HTTP clients use (10-30 s), so an
// overloaded router refuses quickly instead of letting requests time out.
export const INGEST_MAX_QUEUED_MESSAGES_DEFAULT = 20_000;
export const INGEST_MAX_QUEUED_BYTES_DEFAULT = 64 * 1024 * 1024;
export const INGEST_MAX_WAIT_MS_DEFAULT = 2_000;
// Publish requests one router works on at once (publish-gate.ts): well above the concurrency at
// which group commit reaches its best batches (50 connections in bench/RESULTS.md), well below
// what makes requests wait seconds on a saturated thread.
export const INGEST_MAX_IN_FLIGHT_DEFAULT = 128;
export const INBOX_POLL_MS_DEFAULT = 1_000;
export const LONG_POLL_MAX_WAIT_SECONDS = 20;
export const VISIBILITY_DEFAULT_SECONDS = 30;
export const SSE_HEARTBEAT_MS_DEFAULT = 15_000;
export const SSE_RETRY_MS_DEFAULT = 2_000;
export const SSE_WRITE_TIMEOUT_MS_DEFAULT = 30_000;
export const SSE_PREFETCH_DEFAULT = 100;
export const WS_PING_MS_DEFAULT = 25_000;
export const MAX_BODY_BYTES_DEFAULT = 1024 * 1024;
export const NOTIFY_COALESCE_MS_DEFAULT = 5;
export const LOG_RETENTION_HOURS_DEFAULT = 24;
export const HISTORY_RETENTION_DAYS_DEFAULT = 365;
export const RECEIPT_RETENTION_DAYS_DEFAULT = 30;
export const PARTITIONS_AHEAD_DAYS_DEFAULT = 7;
export const SHUTDOWN_TIMEOUT_MS_DEFAULT = 10_000;
// Tokens, memberships, topic policies and schemas are cached this long. Every change drops the
// cached copies in all processes at once (config signal), and a listener reconnect drops them all:
// the time limit only covers a notification lost some other way. Long, because every open SSE
// stream re-checks its token on each heartbeat, and a short limit would turn that into queries.
export const AUTH_CACHE_MS_DEFAULT = 300_000;
export const PRIORITY_AGING_MS_DEFAULT = 10_000;
export const ANALYTICS_FLUSH_MS_DEFAULT = 5_000;
export const MAX_RECEIVES_DEFAULT = 10;
export const NACK_BACKOFF_BASE_MS_DEFAULT = 1_000;
export const NACK_BACKOFF_CAP_MS_DEFAULT = 600_000;
export const QUEUE_MAX_LENGTH_DEFAULT = 1_000_000;
export const QUEUE_OVERFLOW_DEFAULT = 'reject';
export const QUEUE_STATS_MS_DEFAULT = 2_000;
export const DEDUP_WINDOW_SECONDS_DEFAULT = 300;
export const DEAD_LETTER_RETENTION_DAYS_DEFAULT = 14;
export const WEBHOOK_BREAKER_FAILURES_DEFAULT = 5;
export const WEBHOOK_BREAKER_COOLDOWN_MS_DEFAULT = 5_000;
export const BACKPRESSURE_LAG_SECONDS_DEFAULT = 300;
/** Analytics is left out: publishers are never slowed down for rollups or classification; when it
 *  falls behind, classification samples instead (analytics/content-classification.ts). */
export const BACKPRESSURE_STAGES_DEFAULT = 'routing,persistence';
export const PUBLISHER_STATS_RETENTION_DAYS_DEFAULT = 7;
export const ANALYTICS_RETENTION_DAYS_DEFAULT = 30;
// Operator numbers (/metrics, /v1/admin/scaling): read from a snapshot at most this old.
export const METRICS_CACHE_MS_DEFAULT = 2_000;
/** Queues labelled by client in /metrics: the deepest N, never one series per client. */
export const METRICS_TOP_QUEUES_DEFAULT = 10;
export const METRICS_TOP_QUEUES_MAX = 100;
// The scaling signal: recommended workers (processes) per role, "more consumers when the backlog grows".
export const SCALE_MIN_WORKERS_DEFAULT = 1;
export const SCALE_MAX_WORKERS_DEFAULT = 16;
export const SCALE_STAGE_ROWS_PER_WORKER_DEFAULT = 5_000;
export const SCALE_STAGE_LAG_SECONDS_PER_WORKER_DEFAULT = 10;
export const SCALE_QUEUE_VISIBLE_PER_WORKER_DEFAULT = 10_000;
export const SCALE_PUBLISH_RATE_PER_WORKER_DEFAULT = 2_000;
// Input limits: each has a stable error code (src/http/problem.ts) and is tested at its edge.
export const MAX_BATCH_MESSAGES_DEFAULT = 1_000;
export const MAX_PAYLOAD_BYTES_DEFAULT = 256 * 1024;
export const MAX_PAYLOAD_DEPTH_DEFAULT = 32;
export const MAX_HEADERS_DEFAULT = 32;
/** "topic:" plus a 128-character topic name: the name rules (and the database's checks) allow no more. */
export const ADDRESS_LENGTH_CAP = 6 + 128;
export const MAX_ADDRESS_LENGTH_DEFAULT = ADDRESS_LENGTH_CAP;
export const MAX_LISTEN_TO_DEFAULT = 100;
// Abuse controls.
export const RATE_LIMIT_PER_SECOND_DEFAULT = 100;
export const RATE_LIMIT_BURST_DEFAULT = 200;
export const IDEMPOTENCY_WINDOW_SECONDS_DEFAULT = 24 * 3600;
/** Event streams one client may hold open per process (TooManyStreams beyond). */
export const MAX_STREAMS_PER_CLIENT_DEFAULT = 10;
/** Long polls and requests waiting for a reply one client may hold open per process (TooManyWaits beyond). */
export const MAX_WAITS_PER_CLIENT_DEFAULT = 50;
/** Unknown tokens per source address: a bucket of this many, refilled at the rate below, before AuthFailuresThrottled. */
export const AUTH_FAILURES_BURST_DEFAULT = 100;
export const AUTH_FAILURES_PER_SECOND_DEFAULT = 10;
/**
 * Open HTTP connections beyond which new ones are closed at once (Node's server.maxConnections).
 * Above the 15,000 idle streams one push process is benchmarked with, below the file descriptor
 * limits servers are given; set it to what the process's `ulimit -n` allows.
 */
export const HTTP_MAX_CONNECTIONS_DEFAULT = 50_000;
// The dashboard: how often open dashboards get a fresh snapshot, and how long a login lasts.
export const DASHBOARD_PUSH_MS_DEFAULT = 2_000; // as often as queues are counted (QUEUE_STATS_MS_DEFAULT)
export const DASHBOARD_SESSION_HOURS_DEFAULT = 12;

/**
 * Tokens anyone can know: examples published with Switchyard (the compose file's old default among
 * them). They pass the length check, so without this list a copied example becomes a real password.
 */
export const PUBLISHED_PLACEHOLDER_TOKENS: readonly string[] = ['change-me-to-a-secret-of-32-characters-or-more'];
/** Words a token starts with when it asks to be replaced (compared without case or punctuation). */
const PLACEHOLDER_PREFIXES = ['changeme', 'changethis', 'replaceme', 'replacethis', 'yoursecret', 'yourtoken', 'youradmintoken', 'placeholder', 'insertsecret'];
/** A token of so few distinct characters (xxxx..., 0000...) is typed, not generated. */
const PLACEHOLDER_MAX_DISTINCT_CHARACTERS = 4;

export function isPlaceholderToken(token: string): boolean {
  const words = token.toLowerCase().replace(/[^a-z0-9]/g, '');
  return PUBLISHED_PLACEHOLDER_TOKENS.includes(token)
    || PLACEHOLDER_PREFIXES.some((prefix) => words.startsWith(prefix))
    || new Set(token).size <= PLACEHOLDER_MAX_DISTINCT_CHARACTERS;
}

/** A bearer secret from the environment: long enough, and not a placeholder. The value is never echoed. */
const secretToken = z
  .string()
  .min(32, 'must be at least 32 characters')
  .refine((token) => !isPlaceholderToken(token), 'is a placeholder that anyone can know: set a secret of your own, e.g. from `openssl rand -hex 32`');

/** "kind=value,kind=value" per anomaly series kind; kinds not named keep their default. */
function perSeriesKind<T>(parse: (value: string) => T | undefined, expected: string) {
  return z.string().default('').transform((text, ctx) => {
    const out: Partial<Record<SeriesKind, T>> = {};
    for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [kind, raw = ''] = pair.split('=').map((p) => p.trim());
      const value = parse(raw);
      if (!SERIES_KINDS.includes(kind as SeriesKind) || value === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected kind=value pairs with kinds ${SERIES_KINDS.join(', ')} and values ${expected}, got ${pair}` });
        return z.NEVER;
      }
      out[kind as SeriesKind] = value;
    }
    return out;
  });
}

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const originList = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const origins = value.split(',').map((origin) => origin.trim()).filter(Boolean);
    // Exact origins only: a wildcard cannot be combined with credentials, and a typo must not
    // silently open the API to every site.
    const bad = origins.filter((origin) => !isOrigin(origin));
    if (bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `expected comma-separated origins like https://app.example.com, got ${bad.join(', ')}` });
      return z.NEVER;
    }
    return [...new Set(origins)];
  });

function isOrigin(value: string): boolean {
  if (value.includes('*')) return false; // URL accepts * in a host; as an origin it looks like a wildcard that is none
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

const rolesList = z
  .string()
  .default(ROLES.join(','))
  .transform((value, ctx) => {
    const names = value.split(',').map((name) => name.trim()).filter(Boolean);
    const unknown = names.filter((name) => !(ROLES as readonly string[]).includes(name));
    if (unknown.length > 0 || names.length === 0) {
      ctx.addIssue({ code: 'custom', message: `expected a comma-separated list of ${ROLES.join(', ')}` });
      return z.NEVER;
    }
    return [...new Set(names)] as Role[];
  });

const databaseUrlSchema = z.string().superRefine((value, ctx) => {
  const parsed = parseDatabaseUrl(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

const singleHost = (value: string) => {
  const parsed = parseDatabaseUrl(value);
  return typeof parsed === 'string' || parsed.hosts.length === 1;
};

const EnvSchema = z.object({
  // libpq's multi-host form (h1:p1,h2:p2 and target_session_attrs) is no WHATWG URL: db/database-url.ts reads it.
  DATABASE_URL: databaseUrlSchema.optional(),
  SWITCHYARD_READ_REPLICA_URL: databaseUrlSchema.refine(singleHost, 'one replica host only').optional(),
  SWITCHYARD_OWNER_DATABASE_URL: z.string().url().optional(), // migrations, partitions, pg-boss; unset: DATABASE_URL
  SWITCHYARD_DATA_DIR: z.string().min(1).default(DATA_DIR_DEFAULT),
  SWITCHYARD_EMBEDDED_PG_PORT: int(0, 65535, EMBEDDED_PG_PORT_DEFAULT), // 0: any free port
  PORT: int(0, 65535, PORT_DEFAULT),
  HOST: z.string().min(1).default(HOST_DEFAULT),
  SWITCHYARD_ADMIN_TOKEN: secretToken.optional(),
  SWITCHYARD_ROLES: rolesList,
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  SWITCHYARD_POOL_MAX: int(2, 500, POOL_MAX_DEFAULT),
  SWITCHYARD_STATEMENT_TIMEOUT_MS: int(100, 3_600_000, STATEMENT_TIMEOUT_MS_DEFAULT),
  SWITCHYARD_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(100, 3_600_000, IDLE_IN_TRANSACTION_TIMEOUT_MS_DEFAULT),
  SWITCHYARD_STAGE_BATCH_SIZE: int(1, 10_000, STAGE_BATCH_SIZE_DEFAULT),
  SWITCHYARD_STAGE_LANES_PER_CLAIM: int(1, 64, STAGE_LANES_PER_CLAIM_DEFAULT),
  SWITCHYARD_STAGE_WORKERS: int(1, 64, STAGE_WORKERS_DEFAULT),
  SWITCHYARD_STAGE_WORKERS_MAX: z.coerce.number().int().min(1).max(64).optional(), // unset: STAGE_WORKERS_MAX_DEFAULT, or SWITCHYARD_STAGE_WORKERS if larger
  SWITCHYARD_STAGE_POLL_MS: int(10, 60_000, STAGE_POLL_MS_DEFAULT),
  SWITCHYARD_STAGE_BATCH_WAIT_MS: int(0, 10_000, STAGE_BATCH_WAIT_MS_DEFAULT),
  SWITCHYARD_STAGE_RETRY_LIMIT: int(1, 100, STAGE_RETRY_LIMIT_DEFAULT),
  SWITCHYARD_INGEST_MAX_BATCH: int(1, 10_000, INGEST_MAX_BATCH_DEFAULT),
  SWITCHYARD_INGEST_CONCURRENT_FLUSHES: int(1, 64, INGEST_CONCURRENT_FLUSHES_DEFAULT),
  SWITCHYARD_INGEST_MAX_QUEUED_MESSAGES: int(1, 10_000_000, INGEST_MAX_QUEUED_MESSAGES_DEFAULT),
  SWITCHYARD_INGEST_MAX_QUEUED_BYTES: int(1024, 4 * 1024 * 1024 * 1024, INGEST_MAX_QUEUED_BYTES_DEFAULT),
  SWITCHYARD_INGEST_MAX_WAIT_MS: int(1, 600_000, INGEST_MAX_WAIT_MS_DEFAULT),
  SWITCHYARD_INGEST_MAX_IN_FLIGHT: int(1, 100_000, INGEST_MAX_IN_FLIGHT_DEFAULT),
  SWITCHYARD_INBOX_POLL_MS: int(10, 60_000, INBOX_POLL_MS_DEFAULT),
  SWITCHYARD_SSE_HEARTBEAT_MS: int(100, 300_000, SSE_HEARTBEAT_MS_DEFAULT),
  SWITCHYARD_SSE_RETRY_MS: int(0, 300_000, SSE_RETRY_MS_DEFAULT),
  SWITCHYARD_SSE_WRITE_TIMEOUT_MS: int(100, 600_000, SSE_WRITE_TIMEOUT_MS_DEFAULT),
  SWITCHYARD_WS_PING_MS: int(100, 600_000, WS_PING_MS_DEFAULT),
  SWITCHYARD_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024, MAX_BODY_BYTES_DEFAULT),
  SWITCHYARD_NOTIFY_COALESCE_MS: int(0, 1_000, NOTIFY_COALESCE_MS_DEFAULT),
  SWITCHYARD_LOG_RETENTION_HOURS: int(1, 24 * 365, LOG_RETENTION_HOURS_DEFAULT),
  SWITCHYARD_HISTORY_RETENTION_DAYS: int(1, 36_500, HISTORY_RETENTION_DAYS_DEFAULT),
  SWITCHYARD_RECEIPT_RETENTION_DAYS: int(1, 36_500, RECEIPT_RETENTION_DAYS_DEFAULT),
  SWITCHYARD_PARTITIONS_AHEAD_DAYS: int(1, 365, PARTITIONS_AHEAD_DAYS_DEFAULT),
  SWITCHYARD_SHUTDOWN_TIMEOUT_MS: int(0, 600_000, SHUTDOWN_TIMEOUT_MS_DEFAULT),
  SWITCHYARD_AUTH_CACHE_MS: int(0, 3_600_000, AUTH_CACHE_MS_DEFAULT),
  SWITCHYARD_PRIORITY_AGING_MS: int(0, 3_600_000, PRIORITY_AGING_MS_DEFAULT),
  SWITCHYARD_ANALYTICS_FLUSH_MS: int(50, 600_000, ANALYTICS_FLUSH_MS_DEFAULT),
  SWITCHYARD_MAX_RECEIVES: int(1, 1000, MAX_RECEIVES_DEFAULT),
  SWITCHYARD_NACK_BACKOFF_BASE_MS: int(0, 43_200_000, NACK_BACKOFF_BASE_MS_DEFAULT),
  SWITCHYARD_NACK_BACKOFF_CAP_MS: int(0, 43_200_000, NACK_BACKOFF_CAP_MS_DEFAULT),
  SWITCHYARD_QUEUE_MAX_LENGTH: int(1, 1_000_000_000, QUEUE_MAX_LENGTH_DEFAULT),
  SWITCHYARD_QUEUE_OVERFLOW: z.enum(['reject', 'dead_letter']).default(QUEUE_OVERFLOW_DEFAULT),
  SWITCHYARD_QUEUE_STATS_MS: int(100, 600_000, QUEUE_STATS_MS_DEFAULT),
  SWITCHYARD_DEDUP_WINDOW_SECONDS: int(1, 7 * 86_400, DEDUP_WINDOW_SECONDS_DEFAULT),
  SWITCHYARD_DEAD_LETTER_RETENTION_DAYS: int(1, 3650, DEAD_LETTER_RETENTION_DAYS_DEFAULT),
  // Hosts (names or IP addresses) webhooks may reach although they are private, loopback or
  // link-local, and over plain http when they are loopback.
  SWITCHYARD_WEBHOOK_ALLOW_HOSTS: z.string().default('').transform((value) => [...new Set(value.split(',').map((h) => h.trim()).filter(Boolean))]),
  SWITCHYARD_WEBHOOK_BREAKER_FAILURES: int(1, 1000, WEBHOOK_BREAKER_FAILURES_DEFAULT),
  SWITCHYARD_WEBHOOK_BREAKER_COOLDOWN_MS: int(10, 3_600_000, WEBHOOK_BREAKER_COOLDOWN_MS_DEFAULT),
  SWITCHYARD_BACKPRESSURE_LAG_SECONDS: int(0, 86_400, BACKPRESSURE_LAG_SECONDS_DEFAULT), // 0: off
  SWITCHYARD_ANOMALY_K: perSeriesKind((v) => (/^\d+(\.\d+)?$/.test(v) && Number(v) > 0 && Number(v) <= 100 ? Number(v) : undefined), 'in (0, 100]'),
  SWITCHYARD_ANOMALY_DIRECTION: perSeriesKind((v) => (DIRECTIONS.includes(v as Direction) ? (v as Direction) : undefined), DIRECTIONS.join(' | ')),
  SWITCHYARD_BACKPRESSURE_STAGES: z.string().default(BACKPRESSURE_STAGES_DEFAULT).transform((value, ctx) => {
    const names = value.split(',').map((name) => name.trim()).filter(Boolean);
    const unknown = names.filter((name) => !STAGES.includes(name));
    if (unknown.length > 0) {
      ctx.addIssue({ code: 'custom', message: `unknown stage(s) ${unknown.join(', ')}: expected some of ${STAGES.join(', ')}` });
      return z.NEVER;
    }
    return names;
  }),
  SWITCHYARD_MAX_BATCH_MESSAGES: int(1, 10_000, MAX_BATCH_MESSAGES_DEFAULT),
  SWITCHYARD_MAX_PAYLOAD_BYTES: int(16, 64 * 1024 * 1024, MAX_PAYLOAD_BYTES_DEFAULT),
  SWITCHYARD_MAX_PAYLOAD_DEPTH: int(1, 1_000, MAX_PAYLOAD_DEPTH_DEFAULT),
  SWITCHYARD_MAX_HEADERS: int(0, 1_000, MAX_HEADERS_DEFAULT),
  SWITCHYARD_MAX_ADDRESS_LENGTH: int(16, ADDRESS_LENGTH_CAP, MAX_ADDRESS_LENGTH_DEFAULT),
  SWITCHYARD_MAX_LISTEN_TO: int(1, 10_000, MAX_LISTEN_TO_DEFAULT),
  SWITCHYARD_RATE_LIMIT_PER_SECOND: int(0, 1_000_000, RATE_LIMIT_PER_SECOND_DEFAULT), // 0: no rate limit
  SWITCHYARD_RATE_LIMIT_BURST: int(1, 10_000_000, RATE_LIMIT_BURST_DEFAULT),
  SWITCHYARD_MAX_STREAMS_PER_CLIENT: int(1, 100_000, MAX_STREAMS_PER_CLIENT_DEFAULT),
  SWITCHYARD_MAX_WAITS_PER_CLIENT: int(1, 100_000, MAX_WAITS_PER_CLIENT_DEFAULT),
  SWITCHYARD_AUTH_FAILURES_PER_SECOND: int(0, 1_000_000, AUTH_FAILURES_PER_SECOND_DEFAULT), // 0: not throttled
  SWITCHYARD_AUTH_FAILURES_BURST: int(1, 10_000_000, AUTH_FAILURES_BURST_DEFAULT),
  SWITCHYARD_HTTP_MAX_CONNECTIONS: int(1, 1_000_000, HTTP_MAX_CONNECTIONS_DEFAULT),
  SWITCHYARD_IDEMPOTENCY_WINDOW_SECONDS: int(60, 30 * 24 * 3600, IDEMPOTENCY_WINDOW_SECONDS_DEFAULT),
  SWITCHYARD_CORS_ORIGINS: originList,
  SWITCHYARD_DASHBOARD_PUSH_MS: int(200, 60_000, DASHBOARD_PUSH_MS_DEFAULT),
  SWITCHYARD_DASHBOARD_SESSION_HOURS: int(1, 24 * 7, DASHBOARD_SESSION_HOURS_DEFAULT),
  SWITCHYARD_PUBLISHER_STATS_RETENTION_DAYS: int(1, 3650, PUBLISHER_STATS_RETENTION_DAYS_DEFAULT),
  SWITCHYARD_ANALYTICS_RETENTION_DAYS: int(1, 3650, ANALYTICS_RETENTION_DAYS_DEFAULT),
  SWITCHYARD_METRICS_TOKEN: secretToken.optional(),
  SWITCHYARD_METRICS_CACHE_MS: int(0, 600_000, METRICS_CACHE_MS_DEFAULT),
  SWITCHYARD_METRICS_TOP_QUEUES: int(0, METRICS_TOP_QUEUES_MAX, METRICS_TOP_QUEUES_DEFAULT),
  SWITCHYARD_SCALE_MIN_WORKERS: int(1, 1_000, SCALE_MIN_WORKERS_DEFAULT),
  SWITCHYARD_SCALE_MAX_WORKERS: int(1, 1_000, SCALE_MAX_WORKERS_DEFAULT),
  SWITCHYARD_SCALE_STAGE_ROWS_PER_WORKER: int(1, 100_000_000, SCALE_STAGE_ROWS_PER_WORKER_DEFAULT),
  SWITCHYARD_SCALE_STAGE_LAG_SECONDS_PER_WORKER: int(1, 86_400, SCALE_STAGE_LAG_SECONDS_PER_WORKER_DEFAULT),
  SWITCHYARD_SCALE_QUEUE_VISIBLE_PER_WORKER: int(1, 1_000_000_000, SCALE_QUEUE_VISIBLE_PER_WORKER_DEFAULT),
  SWITCHYARD_SCALE_PUBLISH_RATE_PER_WORKER: int(1, 10_000_000, SCALE_PUBLISH_RATE_PER_WORKER_DEFAULT),
}).superRefine((e, ctx) => {
  // Both bounds name the variables at fault; an unset maximum follows a larger minimum.
  if (e.SWITCHYARD_STAGE_WORKERS_MAX !== undefined && e.SWITCHYARD_STAGE_WORKERS_MAX < e.SWITCHYARD_STAGE_WORKERS) {
    ctx.addIssue({ code: 'custom', path: ['SWITCHYARD_STAGE_WORKERS_MAX'], message: 'must not be below SWITCHYARD_STAGE_WORKERS' });
  }
  if (e.SWITCHYARD_SCALE_MAX_WORKERS < e.SWITCHYARD_SCALE_MIN_WORKERS) {
    ctx.addIssue({ code: 'custom', path: ['SWITCHYARD_SCALE_MAX_WORKERS'], message: 'must not be below SWITCHYARD_SCALE_MIN_WORKERS' });
  }
});

export type Env = z.input<typeof EnvSchema>;

export interface Config {
  databaseUrl: string | undefined;
  /** The schema owner's connection, for migrations and schema upkeep; undefined: databaseUrl (or the embedded superuser). */
  ownerDatabaseUrl: string | undefined;
  /** A streaming replica for history, analytics and operator reads (see db/read-replica.ts). */
  readReplicaUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  port: number;
  host: string;
  adminToken: string | undefined;
  roles: Role[];
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  db: { poolMax: number; statementTimeoutMs: number; idleInTransactionTimeoutMs: number };
  /** workers..maxWorkers stage workers per stage in this process (stage-worker-pool.ts). */
  stages: {
    batchSize: number; lanesPerClaim: number; workers: number; maxWorkers: number; pollMs: number; batchWaitMs: number; retryLimit: number;
  };
  delivery: {
    priorityAgingMs: number;
    /** Defaults of the per-client queue policy. */
    maxReceives: number;
    nackBackoffBaseMs: number;
    nackBackoffCapMs: number;
    maxLength: number;
    overflow: 'reject' | 'dead_letter';
    statsMs: number;
    dedupWindowSeconds: number;
    deadLetterRetentionDays: number;
  };
  ingest: { maxBatch: number; concurrentFlushes: number; maxQueuedMessages: number; maxQueuedBytes: number; maxWaitMs: number; maxInFlight: number };
  webhooks: { allowHosts: string[]; breakerFailures: number; breakerCooldownMs: number };
  inbox: { pollMs: number; heartbeatMs: number; retryMs: number; writeTimeoutMs: number; wsPingMs: number };
  analyticsFlushMs: number;
  backpressure: { lagSeconds: number; stages: string[] };
  /** Sensitivity and direction per anomaly series kind (the defaults in analytics/anomaly-series.ts). */
  anomaly: { k: Partial<Record<SeriesKind, number>>; direction: Partial<Record<SeriesKind, Direction>> };
  http: { maxBodyBytes: number; maxConnections: number };
  notifyCoalesceMs: number;
  retention: {
    logHours: number; historyDays: number; receiptDays: number; partitionsAheadDays: number; publisherStatsDays: number;
    analyticsDays: number;
  };
  shutdownTimeoutMs: number;
  authCacheMs: number;
  limits: Limits;
  /** Token bucket per client: perSecond 0 turns it off. */
  rateLimit: { perSecond: number; burst: number };
  /** Held open per client and process. */
  waits: { maxStreams: number; maxWaits: number };
  /** Unknown tokens per source address: perSecond 0 turns it off. */
  authFailures: { perSecond: number; burst: number };
  idempotencyWindowSeconds: number;
  cors: { origins: string[] };
  dashboard: { pushMs: number; sessionHours: number };
  /** token: when set, /metrics wants it as a bearer token; otherwise /metrics is open like /healthz. */
  metrics: { token: string | undefined; cacheMs: number; topQueues: number };
  scaling: ScalingThresholds;
}

/** Recommended workers per role: one per this much backlog, within minWorkers..maxWorkers. */
export interface ScalingThresholds {
  minWorkers: number;
  maxWorkers: number;
  stageRowsPerWorker: number;
  stageLagSecondsPerWorker: number;
  queueVisiblePerWorker: number;
  publishRatePerWorker: number;
}

/** What one request may carry. Every limit has its own error code and configuration variable. */
export interface Limits {
  batchMessages: number;
  payloadBytes: number;
  payloadDepth: number;
  headers: number;
  addressLength: number;
  listenTo: number;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Reads and validates the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "unset", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`));
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    ownerDatabaseUrl: e.SWITCHYARD_OWNER_DATABASE_URL,
    readReplicaUrl: e.SWITCHYARD_READ_REPLICA_URL,
    dataDir: e.SWITCHYARD_DATA_DIR,
    embeddedPgPort: e.SWITCHYARD_EMBEDDED_PG_PORT,
    port: e.PORT,
    host: e.HOST,
    adminToken: e.SWITCHYARD_ADMIN_TOKEN,
    roles: e.SWITCHYARD_ROLES,
    logLevel: e.LOG_LEVEL,
    db: {
      poolMax: e.SWITCHYARD_POOL_MAX,
      statementTimeoutMs: e.SWITCHYARD_STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: e.SWITCHYARD_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    },
    stages: {
      batchSize: e.SWITCHYARD_STAGE_BATCH_SIZE,
      lanesPerClaim: e.SWITCHYARD_STAGE_LANES_PER_CLAIM,
      workers: e.SWITCHYARD_STAGE_WORKERS,
      maxWorkers: e.SWITCHYARD_STAGE_WORKERS_MAX ?? Math.max(e.SWITCHYARD_STAGE_WORKERS, STAGE_WORKERS_MAX_DEFAULT),
      pollMs: e.SWITCHYARD_STAGE_POLL_MS,
      batchWaitMs: e.SWITCHYARD_STAGE_BATCH_WAIT_MS,
      retryLimit: e.SWITCHYARD_STAGE_RETRY_LIMIT,
    },
    delivery: {
      priorityAgingMs: e.SWITCHYARD_PRIORITY_AGING_MS,
      maxReceives: e.SWITCHYARD_MAX_RECEIVES,
      nackBackoffBaseMs: e.SWITCHYARD_NACK_BACKOFF_BASE_MS,
      nackBackoffCapMs: e.SWITCHYARD_NACK_BACKOFF_CAP_MS,
      maxLength: e.SWITCHYARD_QUEUE_MAX_LENGTH,
      overflow: e.SWITCHYARD_QUEUE_OVERFLOW,
      statsMs: e.SWITCHYARD_QUEUE_STATS_MS,
      dedupWindowSeconds: e.SWITCHYARD_DEDUP_WINDOW_SECONDS,
      deadLetterRetentionDays: e.SWITCHYARD_DEAD_LETTER_RETENTION_DAYS,
    },
    ingest: {
      maxBatch: e.SWITCHYARD_INGEST_MAX_BATCH, concurrentFlushes: e.SWITCHYARD_INGEST_CONCURRENT_FLUSHES,
      maxQueuedMessages: e.SWITCHYARD_INGEST_MAX_QUEUED_MESSAGES, maxQueuedBytes: e.SWITCHYARD_INGEST_MAX_QUEUED_BYTES,
      maxWaitMs: e.SWITCHYARD_INGEST_MAX_WAIT_MS, maxInFlight: e.SWITCHYARD_INGEST_MAX_IN_FLIGHT,
    },
    webhooks: {
      allowHosts: e.SWITCHYARD_WEBHOOK_ALLOW_HOSTS,
      breakerFailures: e.SWITCHYARD_WEBHOOK_BREAKER_FAILURES,
      breakerCooldownMs: e.SWITCHYARD_WEBHOOK_BREAKER_COOLDOWN_MS,
    },
    inbox: {
      pollMs: e.SWITCHYARD_INBOX_POLL_MS, heartbeatMs: e.SWITCHYARD_SSE_HEARTBEAT_MS, retryMs: e.SWITCHYARD_SSE_RETRY_MS,
      writeTimeoutMs: e.SWITCHYARD_SSE_WRITE_TIMEOUT_MS, wsPingMs: e.SWITCHYARD_WS_PING_MS,
    },
    analyticsFlushMs: e.SWITCHYARD_ANALYTICS_FLUSH_MS,
    backpressure: { lagSeconds: e.SWITCHYARD_BACKPRESSURE_LAG_SECONDS, stages: e.SWITCHYARD_BACKPRESSURE_STAGES },
    anomaly: { k: e.SWITCHYARD_ANOMALY_K, direction: e.SWITCHYARD_ANOMALY_DIRECTION },
    http: { maxBodyBytes: e.SWITCHYARD_MAX_BODY_BYTES, maxConnections: e.SWITCHYARD_HTTP_MAX_CONNECTIONS },
    notifyCoalesceMs: e.SWITCHYARD_NOTIFY_COALESCE_MS,
    retention: {
      logHours: e.SWITCHYARD_LOG_RETENTION_HOURS,
      historyDays: e.SWITCHYARD_HISTORY_RETENTION_DAYS,
      receiptDays: e.SWITCHYARD_RECEIPT_RETENTION_DAYS,
      partitionsAheadDays: e.SWITCHYARD_PARTITIONS_AHEAD_DAYS,
      publisherStatsDays: e.SWITCHYARD_PUBLISHER_STATS_RETENTION_DAYS,
      analyticsDays: e.SWITCHYARD_ANALYTICS_RETENTION_DAYS,
    },
    shutdownTimeoutMs: e.SWITCHYARD_SHUTDOWN_TIMEOUT_MS,
    authCacheMs: e.SWITCHYARD_AUTH_CACHE_MS,
    limits: {
      batchMessages: e.SWITCHYARD_MAX_BATCH_MESSAGES,
      payloadBytes: e.SWITCHYARD_MAX_PAYLOAD_BYTES,
      payloadDepth: e.SWITCHYARD_MAX_PAYLOAD_DEPTH,
      headers: e.SWITCHYARD_MAX_HEADERS,
      addressLength: e.SWITCHYARD_MAX_ADDRESS_LENGTH,
      listenTo: e.SWITCHYARD_MAX_LISTEN_TO,
    },
    rateLimit: { perSecond: e.SWITCHYARD_RATE_LIMIT_PER_SECOND, burst: e.SWITCHYARD_RATE_LIMIT_BURST },
    waits: { maxStreams: e.SWITCHYARD_MAX_STREAMS_PER_CLIENT, maxWaits: e.SWITCHYARD_MAX_WAITS_PER_CLIENT },
    authFailures: { perSecond: e.SWITCHYARD_AUTH_FAILURES_PER_SECOND, burst: e.SWITCHYARD_AUTH_FAILURES_BURST },
    idempotencyWindowSeconds: e.SWITCHYARD_IDEMPOTENCY_WINDOW_SECONDS,
    cors: { origins: e.SWITCHYARD_CORS_ORIGINS },
    dashboard: { pushMs: e.SWITCHYARD_DASHBOARD_PUSH_MS, sessionHours: e.SWITCHYARD_DASHBOARD_SESSION_HOURS },
    metrics: {
      token: e.SWITCHYARD_METRICS_TOKEN,
      cacheMs: e.SWITCHYARD_METRICS_CACHE_MS,
      topQueues: e.SWITCHYARD_METRICS_TOP_QUEUES,
    },
    scaling: {
      minWorkers: e.SWITCHYARD_SCALE_MIN_WORKERS,
      maxWorkers: e.SWITCHYARD_SCALE_MAX_WORKERS,
      stageRowsPerWorker: e.SWITCHYARD_SCALE_STAGE_ROWS_PER_WORKER,
      stageLagSecondsPerWorker: e.SWITCHYARD_SCALE_STAGE_LAG_SECONDS_PER_WORKER,
      queueVisiblePerWorker: e.SWITCHYARD_SCALE_QUEUE_VISIBLE_PER_WORKER,
      publishRatePerWorker: e.SWITCHYARD_SCALE_PUBLISH_RATE_PER_WORKER,
    },
  };
}
