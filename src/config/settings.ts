// Every environment variable Switchyard reads, declared once. The validating schema, the nested
// Config type, the README's configuration table (`npm run docs:config`) and `switchyard config`
// are all derived from this list. Knobs nobody should tune are not here: see tuning.ts.
import { z } from 'zod';
import { ROLES } from './roles.ts';
import { secretToken } from './secret-token.ts';
import { optionalSetting, setting } from './setting.ts';
import {
  anomalyDirection, anomalyK, databaseUrl, int, originList, rolesList, singleHostDatabaseUrl, stageList, stringList,
} from './value-schemas.ts';

/** Without a stage workers maximum, a process grows up to this many per stage (or SWITCHYARD_STAGE_WORKERS if larger). */
export const STAGE_WORKERS_MAX_DEFAULT = 4;
/** "topic:" plus a 128-character topic name: the name rules (and the database's checks) allow no more. */
export const ADDRESS_LENGTH_CAP = 6 + 128;

export const SETTINGS = [
  // Where the data lives and where the service listens.
  optionalSetting({
    env: 'DATABASE_URL', path: 'databaseUrl', schema: databaseUrl, secret: true, unset: '(embedded)',
    doc: 'PostgreSQL to use; unset: the embedded one. libpq\'s multi-host form is accepted: `postgres://u:p@h1:5432,h2:5432/db?target_session_attrs=read-write` (see [High availability](#high-availability-and-a-read-replica))',
  }),
  optionalSetting({
    env: 'SWITCHYARD_READ_REPLICA_URL', path: 'readReplicaUrl', schema: singleHostDatabaseUrl, secret: true, unset: '(none)',
    doc: 'one streaming replica for history, analytics and the admin dead-letter list; unset: they read the primary',
  }),
  optionalSetting({
    env: 'SWITCHYARD_OWNER_DATABASE_URL', path: 'ownerDatabaseUrl', schema: z.string().url(), secret: true, unset: '`DATABASE_URL`',
    doc: 'the schema owner\'s login, for migrations, partition upkeep and pg-boss (see [Database roles](#database-roles))',
  }),
  setting({ env: 'SWITCHYARD_DATA_DIR', path: 'dataDir', schema: z.string().min(1), default: '.switchyard', doc: 'where the embedded PostgreSQL keeps its data' }),
  setting({ env: 'SWITCHYARD_EMBEDDED_PG_PORT', path: 'embeddedPgPort', schema: int(0, 65535), default: 54329, doc: 'its port (`0`: any free port; a taken port is replaced)' }),
  setting({ env: 'PORT', path: 'port', schema: int(0, 65535), default: 3000, doc: 'the port the HTTP server listens on' }),
  setting({ env: 'HOST', path: 'host', schema: z.string().min(1), default: '127.0.0.1', doc: 'the address the HTTP server listens on' }),
  optionalSetting({
    env: 'SWITCHYARD_ADMIN_TOKEN', path: 'adminToken', schema: secretToken, secret: true, unset: '(generated)',
    doc: 'the admin token, at least 32 characters; a published example or an obvious placeholder (`change-me...`, `your-token...`, `xxxx...`) stops the start with exit 2',
  }),
  setting({ env: 'SWITCHYARD_ROLES', path: 'roles', schema: rolesList, default: ROLES.join(','), doc: 'roles of this process (`--roles` wins)' }),
  setting({
    env: 'LOG_LEVEL', path: 'logLevel', schema: z.enum(['debug', 'info', 'warn', 'error', 'silent']), default: 'info',
    doc: '`debug` logs every request; logs are JSON lines with a `request_id` (always the service\'s own, also in `X-Request-Id` and problem answers; a client\'s `X-Request-Id` is logged beside it as `client_request_id`, visible ASCII only, cut to 128 characters)',
  }),
  // The database connections.
  setting({
    env: 'SWITCHYARD_POOL_MAX', path: 'db.poolMax', schema: int(2, 500), default: 20,
    doc: 'connections per pool; a process has two (durable and relaxed commits, see docs/architecture.md), and stage runners one more with a connection per stage worker',
  }),
  setting({ env: 'SWITCHYARD_STATEMENT_TIMEOUT_MS', path: 'db.statementTimeoutMs', schema: int(100, 3_600_000), default: 30_000, doc: 'statement timeout of every connection' }),
  // Stage workers per process, and how often stages and receivers look without a wake-up.
  setting({ env: 'SWITCHYARD_STAGE_WORKERS', path: 'stages.workers', schema: int(1, 64), default: 1, doc: 'workers per stage in this process, at least' }),
  optionalSetting({
    env: 'SWITCHYARD_STAGE_WORKERS_MAX', path: 'stages.maxWorkers', schema: int(1, 64), unset: `\`${STAGE_WORKERS_MAX_DEFAULT}\` (or \`SWITCHYARD_STAGE_WORKERS\` if larger)`,
    doc: 'workers per stage in this process while a backlog lasts',
  }),
  setting({ env: 'SWITCHYARD_STAGE_POLL_MS', path: 'stages.pollMs', schema: int(10, 60_000), default: 1_000, doc: 'stage poll interval when no NOTIFY comes; also the longest a lane no wake-up named waits for a look' }),
  setting({ env: 'SWITCHYARD_INBOX_POLL_MS', path: 'inbox.pollMs', schema: int(10, 60_000), default: 1_000, doc: 'how often waiting receivers look without a wake-up' }),
  // Past a few dozen routers the coalesced NOTIFYs add up (docs/scaling.md): then raise it.
  setting({ env: 'SWITCHYARD_NOTIFY_COALESCE_MS', path: 'notifyCoalesceMs', schema: int(0, 1_000), default: 5, doc: 'at most one NOTIFY per channel per this window' }),
  // Admission control: what may wait for a group-commit flush before publishes are refused with
  // 503 Overloaded. The wait bound is far below the timeouts HTTP clients use (10-30 s), so an
  // overloaded router refuses quickly instead of letting requests time out.
  setting({
    env: 'SWITCHYARD_INGEST_MAX_QUEUED_MESSAGES', path: 'ingest.maxQueuedMessages', schema: int(1, 10_000_000), default: 20_000,
    doc: 'messages waiting for a group commit before publishes answer `503 Overloaded` (1 to 10,000,000)',
  }),
  setting({
    env: 'SWITCHYARD_INGEST_MAX_QUEUED_BYTES', path: 'ingest.maxQueuedBytes', schema: int(1024, 4 * 1024 * 1024 * 1024), default: 64 * 1024 * 1024,
    doc: 'bytes of messages waiting for a group commit before `503 Overloaded` (1024 to 4 GiB)',
  }),
  setting({
    env: 'SWITCHYARD_INGEST_MAX_WAIT_MS', path: 'ingest.maxWaitMs', schema: int(1, 600_000), default: 2_000,
    doc: 'publishes answer `503 Overloaded` while the oldest waiting one has waited longer (1 to 600,000)',
  }),
  // Publish requests one router works on at once (publish-gate.ts): well above the concurrency at
  // which group commit reaches its best batches (50 connections in bench/RESULTS.md), well below
  // what makes requests wait seconds on a saturated thread.
  setting({
    env: 'SWITCHYARD_INGEST_MAX_IN_FLIGHT', path: 'ingest.maxInFlight', schema: int(1, 100_000), default: 128,
    doc: 'publish requests one router works on at once; past it the next answers `503 Overloaded` at once, before its token is looked up (1 to 100,000)',
  }),
  // Streams: what proxies and slow networks between the service and its receivers need.
  setting({ env: 'SWITCHYARD_SSE_HEARTBEAT_MS', path: 'inbox.heartbeatMs', schema: int(100, 300_000), default: 15_000, doc: 'heartbeat comment on an idle stream' }),
  setting({
    env: 'SWITCHYARD_SSE_WRITE_TIMEOUT_MS', path: 'inbox.writeTimeoutMs', schema: int(100, 600_000), default: 30_000,
    doc: 'a stream (SSE or WebSocket) whose client stops reading for this long is closed (`event: closed` / `closed` frame, code `SlowConsumer`)',
  }),
  setting({
    env: 'SWITCHYARD_WS_PING_MS', path: 'inbox.wsPingMs', schema: int(100, 600_000), default: 25_000,
    doc: 'the server pings every WebSocket this often; one that has not answered the previous ping is terminated',
  }),
  // Input limits: each has a stable error code (src/http/problem.ts) and is tested at its edge.
  setting({ env: 'SWITCHYARD_MAX_BODY_BYTES', path: 'http.maxBodyBytes', schema: int(1024, 64 * 1024 * 1024), default: 1024 * 1024, doc: 'largest request body (413 above)' }),
  setting({ env: 'SWITCHYARD_MAX_BATCH_MESSAGES', path: 'limits.batchMessages', schema: int(1, 10_000), default: 1_000, doc: 'most messages in one batch (see [Limits](#limits))' }),
  setting({ env: 'SWITCHYARD_MAX_PAYLOAD_BYTES', path: 'limits.payloadBytes', schema: int(16, 64 * 1024 * 1024), default: 256 * 1024, doc: 'largest payload of one message, as compact JSON' }),
  setting({ env: 'SWITCHYARD_MAX_PAYLOAD_DEPTH', path: 'limits.payloadDepth', schema: int(1, 1_000), default: 32, doc: 'deepest nesting of a payload' }),
  setting({ env: 'SWITCHYARD_MAX_HEADERS', path: 'limits.headers', schema: int(0, 1_000), default: 32, doc: 'most headers of one message' }),
  setting({
    env: 'SWITCHYARD_MAX_ADDRESS_LENGTH', path: 'limits.addressLength', schema: int(16, ADDRESS_LENGTH_CAP), default: ADDRESS_LENGTH_CAP,
    doc: `longest address (16 to ${ADDRESS_LENGTH_CAP})`,
  }),
  setting({ env: 'SWITCHYARD_MAX_LISTEN_TO', path: 'limits.listenTo', schema: int(1, 10_000), default: 100, doc: 'most entries in a listen-to list' }),
  // Abuse controls.
  setting({
    env: 'SWITCHYARD_RATE_LIMIT_PER_SECOND', path: 'rateLimit.perSecond', schema: int(0, 1_000_000), default: 100,
    doc: 'requests per second per client, refill rate of its bucket (`0`: no limit)',
  }),
  setting({ env: 'SWITCHYARD_RATE_LIMIT_BURST', path: 'rateLimit.burst', schema: int(1, 10_000_000), default: 200, doc: 'size of each client\'s bucket' }),
  setting({
    env: 'SWITCHYARD_MAX_STREAMS_PER_CLIENT', path: 'waits.maxStreams', schema: int(1, 100_000), default: 10,
    doc: 'event streams one client may hold open per process (`429 TooManyStreams` beyond)',
  }),
  setting({
    env: 'SWITCHYARD_MAX_WAITS_PER_CLIENT', path: 'waits.maxWaits', schema: int(1, 100_000), default: 50,
    doc: 'long polls and requests one client may hold open per process (`429 TooManyWaits` beyond)',
  }),
  setting({
    env: 'SWITCHYARD_AUTH_FAILURES_BURST', path: 'authFailures.burst', schema: int(1, 10_000_000), default: 100,
    doc: 'unknown tokens one source address may present before `429 AuthFailuresThrottled`',
  }),
  setting({ env: 'SWITCHYARD_AUTH_FAILURES_PER_SECOND', path: 'authFailures.perSecond', schema: int(0, 1_000_000), default: 10, doc: 'refill rate of that allowance (`0`: no throttle)' }),
  // Above the 15,000 idle streams one push process is benchmarked with, below the file descriptor
  // limits servers are given.
  setting({
    env: 'SWITCHYARD_HTTP_MAX_CONNECTIONS', path: 'http.maxConnections', schema: int(1, 1_000_000), default: 50_000,
    doc: 'open HTTP connections; new ones beyond are closed at once (keep it below `ulimit -n`)',
  }),
  setting({
    env: 'SWITCHYARD_IDEMPOTENCY_WINDOW_SECONDS', path: 'idempotencyWindowSeconds', schema: int(60, 30 * 24 * 3600), default: 24 * 3600,
    doc: 'how long an `Idempotency-Key` is remembered',
  }),
  setting({
    env: 'SWITCHYARD_CORS_ORIGINS', path: 'cors.origins', schema: originList, default: '',
    doc: 'comma-separated origins (`https://app.example.com`) whose pages may call the API',
  }),
  // Delivery semantics.
  setting({ env: 'SWITCHYARD_DEDUP_WINDOW_SECONDS', path: 'delivery.dedupWindowSeconds', schema: int(1, 7 * 86_400), default: 300, doc: 'deduplication window' }),
  setting({
    env: 'SWITCHYARD_BACKPRESSURE_LAG_SECONDS', path: 'backpressure.lagSeconds', schema: int(0, 86_400), default: 300,
    doc: 'a stage further behind than this makes publishing answer 429 (`0`: off)',
  }),
  // Analytics is left out by default: publishers are never slowed down for rollups or classification;
  // when it falls behind, classification samples instead (analytics/content-classification.ts).
  setting({
    env: 'SWITCHYARD_BACKPRESSURE_STAGES', path: 'backpressure.stages', schema: stageList, default: 'routing,persistence',
    doc: 'the stages whose lag counts (analytics is left out on purpose: it samples instead, see [Content classification](#content-classification)); leave out a stage you run nowhere',
  }),
  setting({
    env: 'SWITCHYARD_ANOMALY_K', path: 'anomaly.k', schema: anomalyK, default: '',
    doc: 'anomaly sensitivity per series kind, `kind=k,...`; kinds not named keep `5` (see [Anomaly detection](#anomaly-detection))',
  }),
  setting({
    env: 'SWITCHYARD_ANOMALY_DIRECTION', path: 'anomaly.direction', schema: anomalyDirection, default: '',
    doc: 'anomaly direction per series kind, `kind=<spike, drop or both>,...`; kinds not named keep theirs (counts `both`, rates and latency `spike`)',
  }),
  // Retention.
  setting({ env: 'SWITCHYARD_LOG_RETENTION_HOURS', path: 'retention.logHours', schema: int(1, 24 * 365), default: 24, doc: 'keep the message log this long after every stage has passed it' }),
  setting({ env: 'SWITCHYARD_HISTORY_RETENTION_DAYS', path: 'retention.historyDays', schema: int(1, 36_500), default: 365, doc: 'keep history this long' }),
  setting({ env: 'SWITCHYARD_RECEIPT_RETENTION_DAYS', path: 'retention.receiptDays', schema: int(1, 36_500), default: 30, doc: 'keep delivery receipts (who acked what, when) this long' }),
  setting({ env: 'SWITCHYARD_DEAD_LETTER_RETENTION_DAYS', path: 'delivery.deadLetterRetentionDays', schema: int(1, 3650), default: 14, doc: 'dead letters older than this are deleted' }),
  setting({
    env: 'SWITCHYARD_PUBLISHER_STATS_RETENTION_DAYS', path: 'retention.publisherStatsDays', schema: int(1, 3650), default: 7,
    doc: 'keep the per-sender hourly counts (`top_publishers`) this long',
  }),
  setting({
    env: 'SWITCHYARD_ANALYTICS_RETENTION_DAYS', path: 'retention.analyticsDays', schema: int(1, 3650), default: 30,
    doc: 'keep the per-minute analytics (`switchyard.analytics_minute`, behind `/v1/admin/analytics`) this long',
  }),
  setting({ env: 'SWITCHYARD_SHUTDOWN_TIMEOUT_MS', path: 'shutdownTimeoutMs', schema: int(0, 600_000), default: 10_000, doc: 'how long shutdown waits for work in flight' }),
  // Webhooks.
  setting({
    env: 'SWITCHYARD_WEBHOOK_ALLOW_HOSTS', path: 'webhooks.allowHosts', schema: stringList, default: '',
    doc: 'comma-separated host names or IP addresses webhooks may reach although private, loopback or link-local; over plain http too when they are loopback',
  }),
  setting({
    env: 'SWITCHYARD_WEBHOOK_BREAKER_FAILURES', path: 'webhooks.breakerFailures', schema: int(1, 1000), default: 5,
    doc: 'consecutive failed webhook deliveries that open an endpoint\'s circuit breaker',
  }),
  setting({
    env: 'SWITCHYARD_WEBHOOK_BREAKER_COOLDOWN_MS', path: 'webhooks.breakerCooldownMs', schema: int(10, 3_600_000), default: 5_000,
    doc: 'first cool-down of an open breaker before its probe; doubles after each failed probe, up to 60 times',
  }),
  // Operations.
  optionalSetting({
    env: 'SWITCHYARD_METRICS_TOKEN', path: 'metrics.token', schema: secretToken, secret: true, unset: '(none: open)',
    doc: 'when set, `/metrics` needs it as a bearer token (at least 32 characters, no placeholder)',
  }),
  // The scaling signal (/v1/admin/scaling): recommended workers (processes) per role, one per this
  // much backlog. The per-worker numbers are calibrated on bench/RESULTS.md's machine: recalibrate them on yours.
  setting({ env: 'SWITCHYARD_SCALE_MIN_WORKERS', path: 'scaling.minWorkers', schema: int(1, 1_000), default: 1, doc: 'fewest workers recommended per role' }),
  setting({ env: 'SWITCHYARD_SCALE_MAX_WORKERS', path: 'scaling.maxWorkers', schema: int(1, 1_000), default: 16, doc: 'most workers recommended per role' }),
  setting({
    env: 'SWITCHYARD_SCALE_STAGE_ROWS_PER_WORKER', path: 'scaling.stageRowsPerWorker', schema: int(1, 100_000_000), default: 5_000,
    doc: 'one stage worker per this many rows behind',
  }),
  setting({
    env: 'SWITCHYARD_SCALE_STAGE_LAG_SECONDS_PER_WORKER', path: 'scaling.stageLagSecondsPerWorker', schema: int(1, 86_400), default: 10,
    doc: 'one stage worker per this many seconds of lag',
  }),
  setting({
    env: 'SWITCHYARD_SCALE_QUEUE_VISIBLE_PER_WORKER', path: 'scaling.queueVisiblePerWorker', schema: int(1, 1_000_000_000), default: 10_000,
    doc: 'one push worker per this many visible queued messages',
  }),
  setting({
    env: 'SWITCHYARD_SCALE_PUBLISH_RATE_PER_WORKER', path: 'scaling.publishRatePerWorker', schema: int(1, 10_000_000), default: 2_000,
    doc: 'one router per this many messages published per second',
  }),
] as const;
