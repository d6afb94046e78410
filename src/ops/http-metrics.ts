// HTTP request metrics, labelled by the route pattern that answered (/v1/admin/clients/:id), never
// by the raw path: ids and topic names in paths would make a series per value. Requests for no
// route (404, 405) count as route "unmatched". Called by the app's outermost middleware
// (http/app.ts onResponse), so every answer counts, including those the app's middleware refused
// (415, 413): routing happens before any middleware runs, so they carry their route too.
import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { AppEnv } from '../http/env.ts';
import type { Metrics } from './metrics.ts';

export function observeHttp(metrics: Metrics): (c: Context<AppEnv>, seconds: number) => void {
  return (c, seconds) => {
    // Middleware is registered for method ALL; the handler that answered is the last other one.
    const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? 'unmatched';
    metrics.observeHttp(c.req.method, route, c.res.status, seconds);
  };
}
