// Admin: the data behind the dashboard page, usable with the admin token too (curl, scripts):
// one snapshot of the live numbers, the same snapshots as a Server-Sent Events stream, and the
// table of clients and their queues. The page calls them with its session cookie.
import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { requireAdmin } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { listSubscriptionAddressesOfClients } from '../clients/clients.repository.ts';
import type { Db } from '../db/database.ts';
import { bearer, createRouter, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import { listQueues } from '../ops/stats.repository.ts';
import type { DashboardFeed } from './dashboard-feed.ts';
import { DashboardQueuesQuery, DashboardQueuesSchema, DashboardSnapshotSchema } from './dashboard.schemas.ts';

export interface DashboardDataOptions {
  /** The `retry:` the stream announces. */
  retryMs: number;
  /** Aborts when the service shuts down: streams close. */
  shutdown: AbortSignal;
}

export function dashboardDataRoutes(auth: Authenticator, feed: DashboardFeed, db: Db, o: DashboardDataOptions) {
  const app = createRouter();
  app.use('/admin/dashboard/*', requireAdmin(auth, { allowSession: true }));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/dashboard/snapshot',
      tags: ['admin'],
      summary: 'The live numbers: queue totals, oldest age, throughput, stage lag, dead letters',
      description: 'Also accepts the dashboard\'s session cookie from pages of this service.',
      security: bearer,
      responses: { 200: jsonResponse(DashboardSnapshotSchema, 'The newest snapshot'), ...problemResponses(401, 403) },
    }),
    async (c) => c.json(await feed.current(), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/dashboard/stream',
      tags: ['admin'],
      summary: 'The live numbers as Server-Sent Events',
      description: 'An `event: snapshot` whose data is a DashboardSnapshot, at once and then every 2 s. Opened with the dashboard\'s session, the stream ends with `event: closed` when the session does.',
      security: bearer,
      responses: {
        200: { description: 'An event stream of DashboardSnapshot JSON (event: snapshot)', content: { 'text/event-stream': { schema: z.string() } } },
        ...problemResponses(401, 403),
      },
    }),
    (c) => {
      const sessionEndsAt = c.var.adminSessionEndsAt;
      c.header('X-Accel-Buffering', 'no'); // proxies must not buffer the stream
      return streamSSE(c, async (stream) => {
        const closed = new AbortController();
        stream.onAbort(() => closed.abort());
        const ends = [closed.signal, c.req.raw.signal, o.shutdown];
        if (sessionEndsAt !== undefined) ends.push(AbortSignal.timeout(Math.max(0, sessionEndsAt - Date.now())));
        await stream.write(`retry: ${o.retryMs}\n\n`);
        for await (const snapshot of feed.follow(AbortSignal.any(ends))) {
          await stream.writeSSE({ event: 'snapshot', data: JSON.stringify(snapshot) });
        }
        // Say why, so that the page asks for the token instead of reconnecting into a 401.
        if (sessionEndsAt !== undefined && Date.now() >= sessionEndsAt && !closed.signal.aborted) {
          await stream.writeSSE({ event: 'closed', data: JSON.stringify({ code: 'TokenInvalid', detail: 'the admin session has ended; log in again' }) });
        }
      }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/dashboard/queues',
      tags: ['admin'],
      summary: 'Clients and their queues, the deepest first',
      description: 'Every client that is not revoked, with what it listens to, its queue counts (as last counted) and its dead letters.',
      security: bearer,
      request: { query: DashboardQueuesQuery },
      responses: { 200: jsonResponse(DashboardQueuesSchema, 'Clients and queues'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const rows = await listQueues(db, c.req.valid('query').limit);
      const listenTo = await listSubscriptionAddressesOfClients(db, rows.map((row) => row.client_id));
      return c.json({
        queues: rows.map((row) => ({
          ...row,
          listen_to: listenTo.get(row.client_id) ?? [],
          oldest_enqueued_at: row.oldest_enqueued_at?.toISOString() ?? null,
        })),
      }, 200);
    },
  );

  return app;
}
