// Switchyard's composition root: it builds every part, wires them together and owns the order in
// which they start and stop. The wiring of each area is in src/composition/ (database, access,
// stages, delivery, router, http-app, upkeep); every part pushes its undo onto one stack
// (teardown.ts), which a failed start and stop() both unwind. Reading map, in the order a message travels:
//
//   1. ingest      POST /v1/messages            messages/messages.routes.ts -> messages.service.ts
//                    who may: auth + rate limit   auth/auth.middleware.ts, auth/access.ts (groups, topic policies)
//                    payload schemas              topics/topic-schemas.ts
//                    Idempotency-Key              idempotency/idempotency.service.ts
//   2. transaction group commit into the log      messages/ingest-flush.ts -> queue/group-commit.ts,
//                                                 messages/messages.repository.ts
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
//   wake-ups       LISTEN/NOTIFY + in memory     notifications/signals.ts, config-changes.ts (cache drops)
//   upkeep         partitions via pg-boss        upkeep/upkeep.ts
//   dashboard      GET /dashboard, live numbers  dashboard/dashboard.routes.ts, dashboard-feed.ts
//   operations     /metrics, scaling, /docs      ops/metrics.ts, ops/ops-snapshot.ts, ops/scaling.ts,
//                                                 ops/openapi-document.ts
//   HTTP           listen, drain, close          http/server.ts (the app: composition/http-app.ts)
//
// Each role can run alone (serve --roles routing): roles share nothing but PostgreSQL.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { DeliveryRecorder } from './analytics/delivery-recorder.ts';
import { resolveAdminToken } from './auth/admin-token.ts';
import { wireAccess } from './composition/access.ts';
import { openDatabase } from './composition/database.ts';
import { wireDelivery } from './composition/delivery.ts';
import { buildApp } from './composition/http-app.ts';
import { wireRouter } from './composition/router.ts';
import { wireStages } from './composition/stages.ts';
import { wireUpkeep } from './composition/upkeep.ts';
import { queueDefaults, type Wiring } from './composition/wiring.ts';
import type { Config, Role } from './config.ts';
import type { Db } from './db/database.ts';
import type { AppEnv } from './http/env.ts';
import { closeServer, listen, serverUrl } from './http/server.ts';
import { FullQueues } from './inbox/full-queues.ts';
import type { Logger } from './logger.ts';
import { Signals } from './notifications/signals.ts';
import { Metrics } from './ops/metrics.ts';
import { OpsSnapshots } from './ops/ops-snapshot.ts';
import { Waiters } from './queue/waiters.ts';
import { Teardown } from './teardown.ts';

/** Every part built and running, its HTTP app answering app.request() without a socket. */
export interface SwitchyardApp {
  app: OpenAPIHono<AppEnv>;
  databaseUrl: string;
  /** The admin token when this start generated it (shown once), else undefined. */
  generatedAdminToken: string | undefined;
  db: Db;
  /** Every route the HTTP app answers (method and Hono path, like /v1/admin/clients/:id). */
  routes(): { method: string; path: string }[];
  /** Unwinds everything, newest first; a second call waits for the first. */
  stop(): Promise<void>;
}

export interface Switchyard extends Omit<SwitchyardApp, 'app'> {
  /** Base URL of the HTTP server. */
  url: string;
}

export interface StartOptions {
  log: Logger;
  /** Apply pending migrations before serving (default true). */
  migrate?: boolean;
  /** Injected clock for tests (inbox leases, rate limits); the database's now() and the process clock otherwise. */
  now?: () => Date;
}

/** Builds and starts every part of the configured roles, without an HTTP server. */
export async function buildSwitchyard(config: Config, options: StartOptions): Promise<SwitchyardApp> {
  const teardown = new Teardown(); // unwound by stop(), or at once if start-up fails half way
  const built = await teardown.orUnwind(options.log, () => assemble(config, options, teardown));
  return { ...built, stop: once(() => teardown.run(options.log)) };
}

/** Everything buildSwitchyard starts, served on config.host:config.port; stop() closes the server first. */
export function startSwitchyard(config: Config, options: StartOptions): Promise<Switchyard> {
  const { log } = options;
  const teardown = new Teardown();
  return teardown.orUnwind(log, async () => {
    const { app, webSocketServer, drain, ...built } = await assemble(config, options, teardown);
    const server = await listen(app.fetch, config.port, config.host, { maxConnections: config.http.maxConnections, webSocketServer });
    // Accept nothing new, commit everything accepted, end waits and streams; the rest of the stack
    // unwinds after: the workers (each finishes its batch), the scheduler, the listener, the pools.
    teardown.push('http server', () => closeServer(server, { settle: drain, timeoutMs: config.shutdownTimeoutMs, webSocketServer }));
    const url = serverUrl(server, config.host);
    log.info('switchyard started', { url, roles: config.roles, database: config.databaseUrl ? 'external' : 'embedded' });
    const stop = once(async () => {
      log.info('shutting down');
      await teardown.run(log);
      log.info('stopped');
    });
    return { ...built, url, stop };
  });
}

/** Builds and starts every part in start order; each pushes its undo onto `teardown` as it exists. */
async function assemble(config: Config, options: StartOptions, teardown: Teardown) {
  const { log } = options;
  const { pools, databaseUrl, ownerUrl, connection } = await openDatabase(config, options.migrate ?? true, log, teardown);
  const { pool, db, relaxedDb } = pools;
  const adminToken = await resolveAdminToken(db, config.adminToken);
  const signals = new Signals({ url: databaseUrl, stream: connection.stream, pool, log, coalesceMs: config.notifyCoalesceMs });
  await signals.listen();
  teardown.push('listener', () => signals.close());
  // What operators see: one cached snapshot of the system's numbers feeds /metrics and the
  // scaling signal; hot paths only bump counters.
  const snapshots = new OpsSnapshots(relaxedDb, { cacheMs: config.metrics.cacheMs, topQueues: config.metrics.topQueues });
  const metrics = new Metrics({ snapshots, scaling: config.scaling, log });
  const w: Wiring = { config, log, has: (role: Role) => config.roles.includes(role), pools, signals, metrics, teardown, workers: [], now: options.now };

  // Push: receivers wait in memory; routing, acks, redrives and config changes in any process wake them.
  const waiters = new Waiters();
  const recorder = new DeliveryRecorder();
  signals.on('delivery', (clientIds) => waiters.wake(clientIds));
  const access = await wireAccess(w, adminToken.hash, waiters);
  // Full queues (reject policy): the router refuses direct messages to them, routing dead-letters
  // their copies of topic and group messages.
  const fullQueues = new FullQueues(relaxedDb, queueDefaults(config));
  wireStages(w, access.routingRules, fullQueues);
  const addressGuard = wireDelivery(w, waiters, recorder);
  const router = await wireRouter(w, access, fullQueues, snapshots);
  const { app, webSocketServer, dashboard, drain, routes } = buildApp(w, { access, router, waiters, recorder, snapshots, addressGuard });
  if (w.has('upkeep')) await wireUpkeep(w, ownerUrl, connection.stream);

  // Delivery statistics still in memory are written after the workers stop, before the pools close.
  teardown.push('delivery statistics', () => recorder.flush(relaxedDb));
  for (const worker of w.workers) worker.start();
  teardown.push('workers', () => Promise.all(w.workers.map((worker) => worker.stop(config.shutdownTimeoutMs))));
  teardown.push('dashboard', () => dashboard.stop());
  teardown.push('requests', drain); // already done where an HTTP server closed first
  return { app, webSocketServer, drain, routes, databaseUrl, generatedAdminToken: adminToken.generated, db };
}

/** The first call runs fn; later calls get the same promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
