// The HTTP application: every route of the roles this process runs, mounted on one app that
// answers app.request() without a socket (listen() is the caller's: http/server.ts).
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { WebSocketServer } from 'ws';
import { analyticsRoutes } from '../analytics/analytics.routes.ts';
import { anomaliesRoutes } from '../analytics/anomalies.routes.ts';
import { detectorSettings } from '../analytics/anomaly-series.ts';
import { classifierRoutes } from '../analytics/classifier.routes.ts';
import { ClassifierService } from '../analytics/classifier.service.ts';
import type { DeliveryRecorder } from '../analytics/delivery-recorder.ts';
import { clientsRoutes } from '../clients/clients.routes.ts';
import { ClientsService } from '../clients/clients.service.ts';
import { DashboardFeed } from '../dashboard/dashboard-feed.ts';
import { dashboardDataRoutes } from '../dashboard/dashboard-data.routes.ts';
import { dashboardRoutes } from '../dashboard/dashboard.routes.ts';
import { groupsRoutes } from '../groups/groups.routes.ts';
import { createApp } from '../http/app.ts';
import type { AppEnv } from '../http/env.ts';
import { deadLettersRoutes } from '../inbox/dead-letters.routes.ts';
import { DeadLettersService } from '../inbox/dead-letters.service.ts';
import { inboxRoutes } from '../inbox/inbox.routes.ts';
import { inboxWsRoutes } from '../inbox/inbox-ws.routes.ts';
import { InboxService } from '../inbox/inbox.service.ts';
import { queuePolicyRoutes } from '../inbox/queue-policy.routes.ts';
import { createWsServer } from '../inbox/ws-server.ts';
import { messagesRoutes } from '../messages/messages.routes.ts';
import { signalConfigChange } from '../notifications/config-changes.ts';
import { docsRoutes } from '../ops/docs.routes.ts';
import { healthRoutes } from '../ops/health.routes.ts';
import { observeHttp } from '../ops/http-metrics.ts';
import { metricsRoutes } from '../ops/metrics.routes.ts';
import type { OpsSnapshots } from '../ops/ops-snapshot.ts';
import { serveOpenApiDocument } from '../ops/openapi-document.ts';
import { scalingRoutes } from '../ops/scaling.routes.ts';
import { stageDeadLettersRoutes } from '../ops/stage-dead-letters.routes.ts';
import { historyRoutes } from '../persistence/history.routes.ts';
import type { Waiters } from '../queue/waiters.ts';
import { requestsRoutes } from '../requests/requests.routes.ts';
import { RequestsService } from '../requests/requests.service.ts';
import { ROUTING_RULES_KEY } from '../routing/routing-rules.ts';
import { routingRulesRoutes } from '../routing/routing-rules.routes.ts';
import { topicsRoutes } from '../topics/topics.routes.ts';
import { TopicsService } from '../topics/topics.service.ts';
import type { AddressGuard } from '../webhooks/address-guard.ts';
import { webhooksRoutes } from '../webhooks/webhooks.routes.ts';
import type { Access } from './access.ts';
import type { Router } from './router.ts';
import { policyDefaults, queueDefaults, type Wiring } from './wiring.ts';

export interface AppParts {
  access: Access;
  router: Router;
  waiters: Waiters;
  recorder: DeliveryRecorder;
  snapshots: OpsSnapshots;
  addressGuard: AddressGuard;
}

export interface BuiltApp {
  app: OpenAPIHono<AppEnv>;
  /** Takes the upgrades to GET /v1/inbox/ws. */
  webSocketServer: WebSocketServer;
  dashboard: DashboardFeed;
  /** Refuses new publishes, commits those accepted, then ends waits and streams (once; /readyz says draining from the start). */
  drain: () => Promise<void>;
  /** Every route the app answers (method and Hono path, like /v1/admin/clients/:id). */
  routes: () => { method: string; path: string }[];
}

export function buildApp(w: Wiring, { access, router, waiters, recorder, snapshots, addressGuard }: AppParts): BuiltApp {
  const { config, log, has, pools: { db, relaxedDb, reads }, signals, metrics, workers } = w;
  const { auth, addresses, waitLimits } = access;
  const shutdown = new AbortController();
  let draining: Promise<void> | undefined;
  const drain = () => (draining ??= router.messages.drain().finally(() => shutdown.abort()));
  const dashboard = new DashboardFeed(snapshots, relaxedDb, { intervalMs: config.dashboard.pushMs, log: log.child({ component: 'dashboard' }), stopTimeoutMs: config.shutdownTimeoutMs });
  const app = createApp({ log, maxBodyBytes: config.http.maxBodyBytes, corsOrigins: config.cors.origins, onResponse: observeHttp(metrics) });
  app.route('/', healthRoutes(db, () => draining !== undefined));
  app.route('/', metricsRoutes(metrics, config.metrics.token));
  app.route('/', docsRoutes());
  const wakeClient = (clientId: string | undefined) => signals.signal('delivery', clientId === undefined ? undefined : [clientId]);
  const deadLetters = new DeadLettersService(relaxedDb, wakeClient);
  const changed = (kind: string) => (name?: string) => signalConfigChange(signals, kind, name);
  // The WebSocket engine: upgrades run through the app; sockets that stop answering pings are dropped.
  const ws = createWsServer({ maxPayloadBytes: 2 * config.http.maxBodyBytes, pingIntervalMs: config.inbox.wsPingMs }, log);
  if (router.publish) {
    app.route('/v1', messagesRoutes(auth, router.publish.publisher, config.limits, router.publish.gate));
    app.route('/v1', clientsRoutes(auth, new ClientsService(db, addresses, changed('client')), config.limits));
    app.route('/v1', groupsRoutes(auth, db, changed('group')));
    app.route('/v1', topicsRoutes(auth, new TopicsService(db, changed('topic'))));
    app.route('/v1', routingRulesRoutes(auth, db, changed(ROUTING_RULES_KEY)));
    app.route('/v1', historyRoutes(auth, reads, addresses, config.limits.addressLength));
    app.route('/v1', analyticsRoutes(auth, reads));
    app.route('/v1', anomaliesRoutes(auth, db, detectorSettings(config.anomaly.k, config.anomaly.direction)));
    app.route('/v1', classifierRoutes(auth, new ClassifierService(db, () => new Date(), changed('classifier'))));
    app.route('/v1', deadLettersRoutes(auth, deadLetters, reads));
    app.route('/v1', scalingRoutes(auth, snapshots, config.scaling));
    app.route('/v1', stageDeadLettersRoutes(auth, db, () => signals.signal('log')));
    app.route('/v1', queuePolicyRoutes(auth, db, { ...policyDefaults(config), ...queueDefaults(config) }));
    app.route('/v1', webhooksRoutes(auth, db, addressGuard));
    app.route('/v1', requestsRoutes(auth, new RequestsService(router.messages, router.replies, waitLimits), config.limits, shutdown.signal));
    app.route('/', dashboardRoutes(auth));
    app.route('/v1', dashboardDataRoutes(auth, dashboard, relaxedDb, { retryMs: config.inbox.retryMs, shutdown: shutdown.signal }));
  }
  if (has('push')) {
    const inbox = new InboxService(relaxedDb, waiters, recorder, policyDefaults(config), wakeClient, metrics, w.now);
    app.route('/v1', inboxRoutes(auth, inbox, deadLetters, {
      heartbeatMs: config.inbox.heartbeatMs, retryMs: config.inbox.retryMs, shutdown: shutdown.signal,
      writeTimeoutMs: config.inbox.writeTimeoutMs, corsOrigins: config.cors.origins, waitLimits, log,
    }));
    app.route('/v1', inboxWsRoutes(auth, inbox, router.publish?.publisher, {
      limits: config.limits, frameMaxBytes: config.http.maxBodyBytes, heartbeatMs: config.inbox.heartbeatMs,
      writeTimeoutMs: config.inbox.writeTimeoutMs, corsOrigins: config.cors.origins, shutdown: shutdown.signal, log,
    }));
    workers.push(ws.liveness);
  }
  serveOpenApiDocument(app, { metricsToken: Boolean(config.metrics.token) });
  const routes = () => [...new Map(app.routes.filter((r) => r.method !== 'ALL').map((r) => [`${r.method} ${r.path}`, { method: r.method, path: r.path }])).values()];
  return { app, webSocketServer: ws.wss, dashboard, drain, routes };
}
