// Switchyard's composition root: it builds every part, wires them together and owns the order in
// which they start and stop. Reading map, in the order a message travels:
//
//   1. ingest      POST /v1/messages            messages/messages.routes.ts -> messages.service.ts
//                    who may: auth + rate limit   auth/auth.middleware.ts, groups/membership.ts,
//                    topics and payload schemas   topics/topic-policies.ts, topics/topic-schemas.ts
//                    Idempotency-Key              idempotency/idempotency.service.ts
//   2. transaction group commit into the log      queue/group-commit.ts -> messages/messages.repository.ts
//   3. stages      read the log through cursors  queue/stage-runner.ts + queue/stage-cursor.repository.ts
//                    routing (fan-out)            routing/routing.stage.ts
//                      filters and rules          routing/filter-policy.ts, routing/routing-rules.ts
//                    persistence (history)        persistence/persistence.stage.ts
//                    analytics (rollups)          analytics/analytics.stage.ts
//                      content labels             analytics/content-classification.ts -> label-publisher.ts
//                      anomalies (upkeep job)     analytics/anomaly-detection.ts
//   4. delivery    long poll, SSE, ack           inbox/inbox.routes.ts -> inbox.service.ts (the stream core)
//                    WebSocket                    inbox/inbox-ws.routes.ts -> ws-session.ts
//                    webhooks (circuit breakers)  webhooks/webhook-dispatcher.ts, webhooks/webhooks.routes.ts
//                    long delays                  upkeep/delay-mover.ts (pending store -> queues)
//   wake-ups       LISTEN/NOTIFY + in memory     notifications/signals.ts
//   upkeep         partitions via pg-boss        upkeep/upkeep.ts
//   dashboard      GET /dashboard, live numbers  dashboard/dashboard.routes.ts, dashboard-feed.ts
//   operations     /metrics, scaling, /docs      ops/metrics.ts, ops/ops-snapshot.ts, ops/scaling.ts
//
// Each role can run alone (serve --roles routing): roles share nothing but PostgreSQL.
import { z } from '@hono/zod-openapi';
import type { AddressInfo } from 'node:net';
import { analyticsRoutes } from './analytics/analytics.routes.ts';
import { createAnalyticsStage } from './analytics/analytics.stage.ts';
import { anomaliesRoutes } from './analytics/anomalies.routes.ts';
import { detectorSettings } from './analytics/anomaly-series.ts';
import { classifierRoutes } from './analytics/classifier.routes.ts';
import { ClassifierService } from './analytics/classifier.service.ts';
import { ContentClassification } from './analytics/content-classification.ts';
import { createLabelPublisher } from './analytics/label-publisher.ts';
import { createDeliveryStatsFlushWorker, DeliveryRecorder } from './analytics/delivery-recorder.ts';
import { AdminSessions } from './auth/admin-session.ts';
import { ensureAdminSessionKey } from './auth/admin-session.repository.ts';
import { resolveAdminToken } from './auth/admin-token.ts';
import { Authenticator } from './auth/authenticator.ts';
import { clientsRoutes } from './clients/clients.routes.ts';
import { ListenRights } from './auth/listen-rights.ts';
import { WaitLimits } from './clients/wait-limits.ts';
import { ClientsService } from './clients/clients.service.ts';
import { RateLimiter } from './auth/rate-limiter.ts';
import type { Config, Role } from './config.ts';
import { DashboardFeed } from './dashboard/dashboard-feed.ts';
import { dashboardDataRoutes } from './dashboard/dashboard-data.routes.ts';
import { dashboardRoutes } from './dashboard/dashboard.routes.ts';
import { createDb, createPool, type Db } from './db/database.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded-postgres.ts';
import { isDataError } from './db/errors.ts';
import { embeddedServiceUrl } from './db/embedded-service-login.ts';
import { migrateToLatest, withMigrationDb } from './db/migrate.ts';
import { connectDatabase } from './db/primary-picker.ts';
import { primaryReads, ReadReplica } from './db/read-replica.ts';
import { groupsRoutes } from './groups/groups.routes.ts';
import { GroupMembership } from './groups/membership.ts';
import { createApp } from './http/app.ts';
import { listen } from './http/server.ts';
import { deadLettersRoutes } from './inbox/dead-letters.routes.ts';
import { DeadLettersService } from './inbox/dead-letters.service.ts';
import { IdempotencyKeys } from './idempotency/idempotency.service.ts';
import { createInboxPoller } from './inbox/inbox-poller.ts';
import { inboxRoutes } from './inbox/inbox.routes.ts';
import { inboxWsRoutes } from './inbox/inbox-ws.routes.ts';
import { createWsServer } from './inbox/ws-server.ts';
import { InboxService } from './inbox/inbox.service.ts';
import { FullQueues } from './inbox/full-queues.ts';
import { createQueueStatsWorker } from './inbox/queue-stats.ts';
import { queuePolicyRoutes } from './inbox/queue-policy.routes.ts';
import type { Logger } from './logger.ts';
import { Backpressure } from './messages/backpressure.ts';
import { insertMessages, newMessageBytes, type NewMessage } from './messages/messages.repository.ts';
import { messagesRoutes } from './messages/messages.routes.ts';
import { savePublishSettings } from './messages/publish-settings.repository.ts';
import { MessagesService } from './messages/messages.service.ts';
import { PublishGate } from './messages/publish-gate.ts';
import { Publisher } from './messages/publisher.ts';
import { Signals } from './notifications/signals.ts';
import { docsRoutes } from './ops/docs.routes.ts';
import { healthRoutes } from './ops/health.routes.ts';
import { observeHttp } from './ops/http-metrics.ts';
import { Metrics } from './ops/metrics.ts';
import { metricsRoutes } from './ops/metrics.routes.ts';
import { OpsSnapshots } from './ops/ops-snapshot.ts';
import { scalingRoutes } from './ops/scaling.routes.ts';
import { ReplyWatch } from './requests/reply-watch.ts';
import { requestsRoutes } from './requests/requests.routes.ts';
import { RequestsService } from './requests/requests.service.ts';
import { historyRoutes } from './persistence/history.routes.ts';
import { createPersistenceStage } from './persistence/persistence.stage.ts';
import { GroupCommit } from './queue/group-commit.ts';
import { STAGE_SESSION_SETTINGS } from './queue/stage-cursor.repository.ts';
import { StageRunner, type Stage } from './queue/stage-runner.ts';
import { StageWorkerPool } from './queue/stage-worker-pool.ts';
import { Waiters } from './queue/waiters.ts';
import type { BackgroundWorker } from './queue/worker.ts';
import { ROUTING_RULES_KEY, RoutingRules } from './routing/routing-rules.ts';
import { routingRulesRoutes } from './routing/routing-rules.routes.ts';
import { createRoutingStage } from './routing/routing.stage.ts';
import { AddressGuard } from './webhooks/address-guard.ts';
import { circuitMessage } from './webhooks/circuit-message.ts';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.ts';
import { WebhookSender } from './webhooks/webhook-sender.ts';
import { webhooksRoutes } from './webhooks/webhooks.routes.ts';
import { TopicPolicies } from './topics/topic-policies.ts';
import { TopicSchemas } from './topics/topic-schemas.ts';
import { topicsRoutes } from './topics/topics.routes.ts';
import { TopicsService } from './topics/topics.service.ts';
import { Teardown } from './teardown.ts';
import { ensurePartitions } from './upkeep/partition-upkeep.ts';
import { startUpkeep, type Upkeep } from './upkeep/upkeep.ts';

export interface Switchyard {
  /** Base URL of the HTTP server. */
  url: string;
  databaseUrl: string;
  /** The admin token when this start generated it (shown once), else undefined. */
  generatedAdminToken: string | undefined;
  db: Db;
  /** Every route the HTTP app answers (method and Hono path, like /v1/admin/clients/:id). */
  routes(): { method: string; path: string }[];
  stop(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  /** Apply pending migrations before serving (default true). */
  migrate?: boolean;
  /** Injected clock for tests (inbox leases, rate limits); the database's now() and the process clock otherwise. */
  now?: () => Date;
}

export async function startSwitchyard(config: Config, options: StartOptions): Promise<Switchyard> {
  const { log } = options;
  const has = (role: Role) => config.roles.includes(role);
  const teardown = new Teardown(); // unwound by stop(), or at once if start-up fails half way

  try {
    // The database: external, or embedded in the data folder.
    let embedded: EmbeddedPostgres | undefined;
    if (!config.databaseUrl) {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, log: log.child({ component: 'postgres' }) });
      teardown.push('embedded PostgreSQL', () => embedded!.stop());
    }
    // Several hosts in DATABASE_URL: every connection follows the writable one (db/primary-picker.ts).
    const connection = config.databaseUrl ? await connectDatabase(config.databaseUrl, log) : { url: embedded!.url, stream: undefined };
    // Two roles (migration 0011): the owner migrates and keeps the schema (partitions, pg-boss's
    // tables); everything else connects as the service, which owns nothing. On the embedded
    // database the owner is the cluster's superuser and the service logs in as switchyard_app.
    const ownerUrl = config.ownerDatabaseUrl ?? connection.url;
    if (options.migrate ?? true) {
      for (const line of await withMigrationDb(ownerUrl, log, migrateToLatest)) log.info('migration', { result: line });
    }
    const databaseUrl = config.databaseUrl ? connection.url : await embeddedServiceUrl(embedded!.url, config.dataDir, log);
    const poolOptions = {
      url: databaseUrl,
      max: config.db.poolMax,
      statementTimeoutMs: config.db.statementTimeoutMs,
      idleInTransactionTimeoutMs: config.db.idleInTransactionTimeoutMs,
      stream: connection.stream,
    };
    const pool = createPool({ ...poolOptions, applicationName: `switchyard:${config.roles.join(',')}` }, log);
    const db = createDb(pool);
    teardown.push('pool', () => db.destroy());
    // Stage batches, receives and acks commit without waiting for the disk: see db/database.ts.
    const relaxedDb = createDb(createPool({ ...poolOptions, applicationName: 'switchyard:relaxed', synchronousCommit: false }, log));
    teardown.push('relaxed pool', () => relaxedDb.destroy());
    // Stage runners have connections of their own: at most one per stage worker, never waiting
    // behind receivers for a connection, with the stage session settings.
    const stageCount = (['routing', 'persistence', 'analytics'] as const).filter(has).length;
    const stageDb = createDb(createPool({
      ...poolOptions, max: Math.max(1, stageCount * config.stages.maxWorkers), applicationName: 'switchyard:stages',
      synchronousCommit: false, settings: STAGE_SESSION_SETTINGS,
    }, log));
    teardown.push('stage pool', () => stageDb.destroy());

    const ownerDb = ownerUrl === databaseUrl ? db : createDb(createPool({ ...poolOptions, url: ownerUrl, max: 2, applicationName: 'switchyard:owner' }, log));
    if (ownerDb !== db) teardown.push('owner pool', () => ownerDb.destroy());
    // History, analytics and operator reads: on a streaming replica when one is configured.
    let replica: ReadReplica | undefined;
    if (config.readReplicaUrl) {
      const replicaDb = createDb(createPool({ ...poolOptions, url: config.readReplicaUrl, stream: undefined, applicationName: 'switchyard:replica-reads' }, log));
      teardown.push('replica pool', () => replicaDb.destroy());
      replica = new ReadReplica(db, replicaDb, log.child({ component: 'read-replica' }));
    }
    const reads = replica ?? primaryReads(db);

    await ensurePartitions(ownerDb, config.retention.partitionsAheadDays);
    const adminToken = await resolveAdminToken(db, config.adminToken);

    const signals = new Signals({ url: databaseUrl, stream: connection.stream, pool, log, coalesceMs: config.notifyCoalesceMs });
    await signals.listen();
    teardown.push('listener', () => signals.close());

    // Who may do what: cached in each process; a change anywhere signals config <kind>:<key>.
    const membership = new GroupMembership(db, config.authCacheMs);
    const policies = new TopicPolicies(db, config.authCacheMs);
    const schemas = new TopicSchemas(db, config.authCacheMs);
    const routingRules = new RoutingRules(log.child({ component: 'routing-rules' }));
    const injectedNow = options.now;
    const limiterClock = injectedNow ? () => injectedNow().getTime() : undefined;
    const rateLimiter = config.rateLimit.perSecond > 0 ? new RateLimiter(config.rateLimit.perSecond, config.rateLimit.burst, limiterClock) : undefined;
    const adminSessions = new AdminSessions(await ensureAdminSessionKey(db), adminToken.hash, config.dashboard.sessionHours * 3_600_000);
    const authFailures = config.authFailures.perSecond > 0 ? new RateLimiter(config.authFailures.perSecond, config.authFailures.burst, limiterClock) : undefined;
    const auth = new Authenticator(db, adminToken.hash, config.authCacheMs, rateLimiter, adminSessions, authFailures);
    const rights = new ListenRights(membership, policies);
    const waitLimits = new WaitLimits({ streams: config.waits.maxStreams, waits: config.waits.maxWaits });
    const changed = (prefix: string, keys: string[] | undefined) =>
      keys?.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));

    // Push: receivers wait in memory; routing, acks and redrives in any process wake them.
    const waiters = new Waiters();
    const recorder = new DeliveryRecorder();
    signals.on('delivery', (clientIds) => waiters.wake(clientIds));
    // Request/reply: one worker looks for the replies of every waiting request at once; the router
    // that commits a message with a waited-for correlation id wakes it.
    const replies = new ReplyWatch(relaxedDb, rights, config.inbox.pollMs, log);
    signals.on('reply', (correlationIds) => replies.wake(correlationIds));
    const queueDefaults = { maxLength: config.delivery.maxLength, overflow: config.delivery.overflow };
    const policyDefaults = {
      maxReceives: config.delivery.maxReceives,
      backoffBaseMs: config.delivery.nackBackoffBaseMs,
      backoffCapMs: config.delivery.nackBackoffCapMs,
    };

    signals.on('config', (keys) => {
      membership.invalidate(changed('group:', keys));
      policies.invalidate(changed('topic:', keys));
      schemas.invalidate(changed('topic:', keys));
      if (keys === undefined || keys.includes(ROUTING_RULES_KEY)) routingRules.invalidate();
      const clientIds = changed('client:', keys);
      auth.invalidateClients(clientIds);
      // Waiting receivers of a revoked or rotated client look again now, find their token no
      // longer valid and end (the heartbeat would do it too, later).
      waiters.wake(clientIds);
    });

    // What operators see: one cached snapshot of the system's numbers feeds /metrics and the
    // scaling signal; hot paths only bump counters.
    const snapshots = new OpsSnapshots(relaxedDb, {
      cacheMs: config.metrics.cacheMs, topQueues: config.metrics.topQueues, rowsBehindCap: config.metrics.rowsBehindCap,
    });
    const metrics = new Metrics({ snapshots, scaling: config.scaling, log });

    // Stages: each a pool of workers that grows while its backlog lasts (SWITCHYARD_STAGE_WORKERS.._MAX).
    const workers: BackgroundWorker[] = [];
    const stageWorkers: StageWorkerPool[] = [];
    const addStage = (stage: Stage, wakeDelayMs: number) => {
      const runner = new StageRunner({
        db: stageDb, stage, log: log.child({ stage: stage.name }),
        batchSize: config.stages.batchSize, lanesPerClaim: config.stages.lanesPerClaim, retryLimit: config.stages.retryLimit,
        onBatch: metrics.stageObserver(stage.name),
      });
      const pool = new StageWorkerPool({
        runner, minWorkers: config.stages.workers, maxWorkers: config.stages.maxWorkers, pollMs: config.stages.pollMs, wakeDelayMs, log,
      });
      metrics.trackStageWorkers(stage.name, () => pool.size);
      stageWorkers.push(pool);
    };
    // Full queues (reject policy): the router refuses direct messages to them, routing dead-letters
    // their copies of topic and group messages. The router's backpressure worker refreshes them.
    const fullQueues = new FullQueues(relaxedDb, queueDefaults);
    if (has('routing')) {
      addStage(createRoutingStage({
        priorityAgingMs: config.delivery.priorityAgingMs,
        rules: routingRules,
        onDelivered: (clientIds) => signals.signal('delivery', clientIds),
        fullClients: () => fullQueues.clients(),
        onOverflow: (perClient) => metrics.countOverflows('dead_lettered', perClient),
      }), 0); // receivers wait on routing: it runs the moment it is woken
      if (!has('router')) workers.push(fullQueues.createRefreshWorker(config.delivery.statsMs, log));
    }
    if (has('persistence')) addStage(createPersistenceStage(), config.stages.batchWaitMs);
    if (has('analytics')) {
      // Labels that reach their topic's threshold go out as messages on topic:switchyard.labels.
      const labelPublisher = createLabelPublisher(db, config.stages.pollMs, log, () => signals.signal('log'));
      workers.push(labelPublisher);
      const classification = new ContentClassification({ now: Date.now, onOutcome: metrics.classifierOutcome });
      signals.on('config', (keys) => {
        if (keys === undefined || keys.some((key) => key.startsWith('classifier:'))) classification.invalidateTopics();
      });
      addStage(createAnalyticsStage({ classification, onLabelled: () => labelPublisher.wake() }), config.stages.batchWaitMs);
    }
    signals.on('log', () => stageWorkers.forEach((worker) => worker.wake()));
    workers.push(...stageWorkers);
    // Webhooks: the push role delivers the queues of clients with an endpoint by POST, each endpoint
    // behind its own circuit breaker; transitions are published on topic:switchyard.circuits.
    const addressGuard = new AddressGuard(config.webhooks.allowHosts);
    let webhooks: WebhookDispatcher | undefined;
    let webhookSender: WebhookSender | undefined;
    if (has('push')) {
      webhookSender = new WebhookSender(addressGuard);
      webhooks = new WebhookDispatcher({
        db: relaxedDb, sender: webhookSender, pollMs: config.inbox.pollMs, log: log.child({ component: 'webhooks' }),
        breaker: { failures: config.webhooks.breakerFailures, cooldownMs: config.webhooks.breakerCooldownMs },
        policyDefaults: { maxReceives: config.delivery.maxReceives, backoffBaseMs: config.delivery.nackBackoffBaseMs, backoffCapMs: config.delivery.nackBackoffCapMs },
        onOutcome: (clientId, outcome, n) => metrics.countWebhookOutcome(clientId, outcome, n),
        onCircuit: async (event) => {
          metrics.countCircuitTransition(event.client_id, event.state);
          await insertMessages(db, [circuitMessage(event)], config.delivery.dedupWindowSeconds);
          signals.signal('log');
        },
      });
      metrics.trackCircuits(() => webhooks!.circuits());
      const webhookWorker = webhooks.createWorker();
      signals.on('delivery', () => webhookWorker.wake());
      workers.push(webhookWorker);
      // Unwound after the workers (pushed later) have stopped.
      teardown.push('webhooks', async () => {
        await webhooks!.stop(config.shutdownTimeoutMs);
        webhookSender!.close();
      });
    }
    if (has('push')) {
      workers.push(createInboxPoller(relaxedDb, waiters, config.inbox.pollMs, log));
      workers.push(createDeliveryStatsFlushWorker(recorder, relaxedDb, log, config.analyticsFlushMs));
    }
    if (has('upkeep')) {
      workers.push(createQueueStatsWorker(relaxedDb, queueDefaults, config.delivery.statsMs, log, (moved) => metrics.countOverflows('dropped_oldest', moved)));
    }

    // Router: concurrent publishes share one INSERT; the stages (and requests waiting for a reply)
    // hear of it after the commit.
    const commit = new GroupCommit<NewMessage, string>({
      maxBatch: config.ingest.maxBatch,
      maxConcurrent: config.ingest.concurrentFlushes,
      // A value PostgreSQL refuses fails only its own publish (the flush is split), and what
      // waits is bounded: above a limit publishes are refused at once (admission control).
      isolate: isDataError,
      maxQueuedItems: config.ingest.maxQueuedMessages,
      maxQueuedBytes: config.ingest.maxQueuedBytes,
      maxWaitMs: config.ingest.maxWaitMs,
      sizeOf: newMessageBytes,
      flush: async (rows) => {
        const started = performance.now();
        const ids = await insertMessages(db, rows, config.delivery.dedupWindowSeconds);
        if (replica) for (const row of rows) replica.noteWrite(row.sender); // their next reads wait for the replica
        metrics.ingestFlushSeconds.observe((performance.now() - started) / 1000);
        let written = 0;
        for (let i = 0; i < rows.length; i++) if (ids[i] === rows[i]!.id) written += 1; // the others repeated a dedup_id
        metrics.published.inc(written);
        signals.signal('log');
        const correlationIds = rows.flatMap((row) => (row.correlation_id === null ? [] : [row.correlation_id]));
        if (correlationIds.length > 0) signals.signal('reply', correlationIds);
        return ids;
      },
    });
    const backpressure = new Backpressure(relaxedDb, {
      fullQueues, onRefused: (clientIds) => metrics.countOverflows('refused', clientIds), lagSeconds: config.backpressure.lagSeconds, stages: config.backpressure.stages,
    });
    if (has('router')) {
      await savePublishSettings(db, {
        dedupWindowSeconds: config.delivery.dedupWindowSeconds, queueMaxLength: queueDefaults.maxLength, queueOverflow: queueDefaults.overflow,
      });
      workers.push(backpressure.createRefreshWorker(config.delivery.statsMs, log));
      metrics.trackBackpressure(() => backpressure.lagging !== undefined);
      metrics.trackIngestQueue(commit);
    }
    const messages = new MessagesService(membership, policies, rights, schemas, backpressure, commit);
    if (has('router')) workers.push(replies.worker);
    const wakeClient = (clientId: string | undefined) => signals.signal('delivery', clientId === undefined ? undefined : [clientId]);
    const deadLetters = new DeadLettersService(relaxedDb, wakeClient);

    // HTTP.
    const shutdown = new AbortController();
    let draining = false;
    const dashboard = new DashboardFeed(relaxedDb, { intervalMs: config.dashboard.pushMs, log: log.child({ component: 'dashboard' }), stopTimeoutMs: config.shutdownTimeoutMs });
    const app = createApp({ log, maxBodyBytes: config.http.maxBodyBytes, corsOrigins: config.cors.origins, onResponse: observeHttp(metrics) });
    app.route('/', healthRoutes(db, () => draining));
    app.route('/', metricsRoutes(metrics, config.metrics.token));
    app.route('/', docsRoutes());
    let publisher: Publisher | undefined; // WebSocket publish frames need it where the router runs
    // The WebSocket engine: upgrades run through the app; sockets that stop answering pings are dropped.
    const ws = createWsServer({ maxPayloadBytes: 2 * config.http.maxBodyBytes, pingIntervalMs: config.inbox.wsPingMs }, log);
    if (has('router')) {
      // An attempt holds its Idempotency-Key at most this long before a retry may take over: longer
      // than any statement of the publish can run.
      const idempotencyLeaseSeconds = Math.max(60, Math.ceil((2 * config.db.statementTimeoutMs) / 1000));
      const idempotency = new IdempotencyKeys(db, config.idempotencyWindowSeconds, idempotencyLeaseSeconds, signals.origin);
      publisher = new Publisher(messages, idempotency);
      const publishGate = new PublishGate(config.ingest.maxInFlight);
      metrics.trackPublishesInFlight(() => publishGate.inFlight);
      app.route('/v1', messagesRoutes(auth, publisher, config.limits, publishGate));
      const clients = new ClientsService(db, rights, (clientId) => signals.signal('config', [`client:${clientId}`]));
      app.route('/v1', clientsRoutes(auth, clients, config.limits));
      app.route('/v1', groupsRoutes(auth, db, (group) => signals.signal('config', [`group:${group}`])));
      app.route('/v1', topicsRoutes(auth, new TopicsService(db, (topic) => signals.signal('config', [`topic:${topic}`]))));
      app.route('/v1', routingRulesRoutes(auth, db, () => signals.signal('config', [ROUTING_RULES_KEY])));
      app.route('/v1', historyRoutes(auth, reads, membership, policies, config.limits.addressLength));
      app.route('/v1', analyticsRoutes(auth, reads));
      app.route('/v1', anomaliesRoutes(auth, db, detectorSettings(config.anomaly.k, config.anomaly.direction)));
      app.route('/v1', classifierRoutes(auth, new ClassifierService(db, () => new Date(), (topic) => signals.signal('config', [`classifier:${topic}`]))));
      app.route('/v1', deadLettersRoutes(auth, deadLetters, reads));
      app.route('/v1', scalingRoutes(auth, snapshots, config.scaling));
      app.route('/v1', queuePolicyRoutes(auth, db, { ...policyDefaults, ...queueDefaults }));
      app.route('/v1', webhooksRoutes(auth, db, addressGuard));
      app.route('/v1', requestsRoutes(auth, new RequestsService(messages, replies, waitLimits), config.limits, shutdown.signal));
      app.route('/', dashboardRoutes(auth));
      app.route('/v1', dashboardDataRoutes(auth, dashboard, relaxedDb, { retryMs: config.inbox.retryMs, shutdown: shutdown.signal }));
    }
    if (has('push')) {
      const inbox = new InboxService(relaxedDb, waiters, recorder, policyDefaults, wakeClient, metrics, options.now);
      app.route('/v1', inboxRoutes(auth, inbox, deadLetters, {
        heartbeatMs: config.inbox.heartbeatMs, retryMs: config.inbox.retryMs, shutdown: shutdown.signal,
        writeTimeoutMs: config.inbox.writeTimeoutMs, corsOrigins: config.cors.origins, waitLimits, log,
      }));
      app.route('/v1', inboxWsRoutes(auth, inbox, publisher, {
        limits: config.limits, frameMaxBytes: config.http.maxBodyBytes, heartbeatMs: config.inbox.heartbeatMs,
        writeTimeoutMs: config.inbox.writeTimeoutMs, corsOrigins: config.cors.origins, shutdown: shutdown.signal, log,
      }));
      workers.push(ws.liveness);
    }
    // The document lists itself too, so that every route the app answers is in it (test/openapi.test.ts).
    app.openAPIRegistry.registerPath({
      method: 'get', path: '/openapi.json', tags: ['operations'], summary: 'This document (OpenAPI 3.1)',
      responses: { 200: { description: 'The OpenAPI document', content: { 'application/json': { schema: z.object({ openapi: z.string() }).passthrough() } } } },
    });
    app.doc31('/openapi.json', {
      openapi: '3.1.0',
      info: { title: 'Switchyard', version: '1', description: 'A real-time message router on PostgreSQL.' },
    });
    app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
    if (config.metrics.token) {
      app.openAPIRegistry.registerComponent('securitySchemes', 'metrics', { type: 'http', scheme: 'bearer', description: 'SWITCHYARD_METRICS_TOKEN' });
    }

    let upkeep: Upkeep | undefined;
    if (has('upkeep')) {
      upkeep = await startUpkeep(ownerUrl, ownerDb, {
        aheadDays: config.retention.partitionsAheadDays,
        logRetentionHours: config.retention.logHours,
        historyRetentionDays: config.retention.historyDays,
        receiptRetentionDays: config.retention.receiptDays,
        deadLetterRetentionDays: config.delivery.deadLetterRetentionDays,
        publisherStatsRetentionDays: config.retention.publisherStatsDays,
        analyticsRetentionDays: config.retention.analyticsDays,
        anomalySettings: detectorSettings(config.anomaly.k, config.anomaly.direction),
      }, log.child({ component: 'upkeep' }), connection.stream);
      teardown.push('scheduler', () => upkeep!.stop());
    }

    // Delivery statistics still in memory are written after the workers stop, before the pools close.
    teardown.push('delivery statistics', () => recorder.flush(relaxedDb));
    for (const worker of workers) worker.start();
    teardown.push('workers', () => Promise.all(workers.map((w) => w.stop(config.shutdownTimeoutMs))));
    teardown.push('dashboard', () => dashboard.stop());

    const server = await listen(app.fetch, config.port, config.host, { maxConnections: config.http.maxConnections, webSocketServer: ws.wss });
    const address = server.address() as AddressInfo;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${address.port}`;
    log.info('switchyard started', { url, roles: config.roles, database: embedded ? 'embedded' : 'external' });

    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= (async () => {
      log.info('shutting down');
      draining = true;
      // Accept nothing new, commit everything accepted, end waits and streams, then unwind the
      // rest: the workers (each finishes its batch), the scheduler, the listener, the pools, the database.
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await messages.drain();
      shutdown.abort();
      // Connections go idle as their last response ends; close them as they do.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const force = setTimeout(() => {
        server.closeAllConnections();
        for (const socket of ws.wss.clients) socket.terminate(); // upgraded sockets are no longer the server's to close
      }, config.shutdownTimeoutMs);
      server.closeIdleConnections();
      await serverClosed;
      clearInterval(sweep);
      clearTimeout(force);
      await teardown.run(log);
      log.info('stopped');
    })());

    const routes = () => [...new Map(app.routes.filter((r) => r.method !== 'ALL').map((r) => [`${r.method} ${r.path}`, { method: r.method, path: r.path }])).values()];
    return { url, databaseUrl, generatedAdminToken: adminToken.generated, db, routes, stop };
  } catch (error) {
    await teardown.run(log);
    throw error;
  }
}
