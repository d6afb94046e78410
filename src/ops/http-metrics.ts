// HTTP request metrics, labelled by the route pattern that answered (/v1/admin/clients/:id), never
// by the raw path: ids and topic names in paths would make a series per value. Requests no route
// answered (404, 405) count as route "unmatched".
import { createMiddleware } from 'hono/factory';
import { matchedRoutes } from 'hono/route';
import type { AppEnv } from '../http/env.ts';
import type { Metrics } from './metrics.ts';

export function httpMetrics(metrics: Metrics) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      // Middleware is registered for method ALL; the handler that answered is the last other one.
      const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? 'unmatched';
      metrics.observeHttp(c.req.method, route, c.res.status, (performance.now() - started) / 1000);
    }
  });
}
