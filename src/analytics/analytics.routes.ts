import { createRoute, z } from '@hono/zod-openapi';
import { requireAdmin } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Reads } from '../db/read-replica.ts';
import { bearer, createRouter, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import { storableText } from '../http/sql-values.schemas.ts';
import { listAnalyticsMinutes } from './analytics.repository.ts';
import { latencyQuantile } from './latency-quantile.ts';

const AnalyticsQuery = z.object({
  address: storableText(z.string().max(140)).optional().openapi({ description: 'one address (direct messages: user:*); all when absent' }),
  minutes: z.coerce.number().int().min(1).max(7 * 24 * 60).default(60).openapi({ description: 'how far back' }),
});

const MinuteSchema = z
  .object({
    minute: z.string(),
    address: z.string(),
    published: z.number(),
    payload_bytes: z.number(),
    delivered: z.number().openapi({ description: 'first deliveries to a client' }),
    expired: z.number().openapi({ description: 'deliveries whose ttl ran out before anyone received them' }),
    dead_lettered: z.number().openapi({ description: 'deliveries moved to dead letters after max_receives' }),
    latency_ms: z.object({
      mean: z.number().nullable(),
      p50: z.number().nullable(),
      p90: z.number().nullable(),
      p99: z.number().nullable(),
      max: z.number().nullable(),
    }).openapi({ description: 'publish to first receipt; percentiles are estimated from latency buckets (interpolated within a bucket, never above max)' }),
  })
  .openapi('AnalyticsMinute');

export function analyticsRoutes(auth: Authenticator, reads: Reads) {
  const app = createRouter();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/analytics',
      tags: ['admin'],
      summary: 'Per-minute traffic and end-to-end latency per address',
      security: bearer,
      middleware: [requireAdmin(auth)] as const,
      request: { query: AnalyticsQuery },
      responses: { 200: jsonResponse(z.object({ minutes: z.array(MinuteSchema) }), 'Rollups, oldest first'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const { address, minutes } = c.req.valid('query');
      const rows = await reads.read(undefined, (db) => listAnalyticsMinutes(db, address, new Date(Date.now() - minutes * 60_000)));
      return c.json({
        minutes: rows.map((row) => {
          const delivered = Number(row.delivered);
          const buckets = row.latency_ms_buckets.map(Number);
          return {
            minute: row.minute.toISOString(),
            address: row.address,
            published: Number(row.published),
            payload_bytes: Number(row.payload_bytes),
            delivered,
            expired: Number(row.expired),
            dead_lettered: Number(row.dead_lettered),
            latency_ms: {
              mean: delivered > 0 ? Number(row.latency_ms_sum) / delivered : null,
              p50: latencyQuantile(buckets, 0.5, row.latency_ms_max),
              p90: latencyQuantile(buckets, 0.9, row.latency_ms_max),
              p99: latencyQuantile(buckets, 0.99, row.latency_ms_max),
              max: delivered > 0 ? row.latency_ms_max : null,
            },
          };
        }),
      }, 200);
    },
  );

  return app;
}
