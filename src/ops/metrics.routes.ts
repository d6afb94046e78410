// GET /metrics, in the Prometheus text format. Open like /healthz by default: scrapers are
// usually configured without credentials, the numbers hold no message content, and the admin
// token is far too strong to hand to a scraper. What it does reveal (queue depths, the names of
// the deepest queues' clients) is operational; where that matters, set SWITCHYARD_METRICS_TOKEN
// and give the scraper that token, which opens nothing else.
import { createRoute, z } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../http/env.ts';
import { createRouter } from '../http/openapi.ts';
import { ApiError, problemResponses } from '../http/problem.ts';
import { hashToken, sameHash } from '../auth/tokens.ts';
import type { Metrics } from './metrics.ts';

function requireMetricsToken(token: string) {
  const expected = hashToken(token);
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header('authorization');
    if (header === undefined) throw new ApiError('TokenMissing', 'send "Authorization: Bearer <SWITCHYARD_METRICS_TOKEN>"');
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match || !sameHash(hashToken(match[1]!), expected)) throw new ApiError('TokenInvalid', 'that is not the metrics token');
    await next();
  });
}

export function metricsRoutes(metrics: Metrics, token: string | undefined) {
  const app = createRouter();
  if (token !== undefined) app.use('/metrics', requireMetricsToken(token));
  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      tags: ['operations'],
      summary: 'Prometheus metrics',
      description: 'Open unless SWITCHYARD_METRICS_TOKEN is set; then that token is needed as a bearer token. The README lists every metric.',
      ...(token === undefined ? {} : { security: [{ metrics: [] as string[] }] }),
      responses: {
        200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: z.string() } } },
        ...(token === undefined ? {} : problemResponses(401)),
      },
    }),
    async (c) => c.text(await metrics.render(), 200, { 'content-type': metrics.contentType() }),
  );
  return app;
}
