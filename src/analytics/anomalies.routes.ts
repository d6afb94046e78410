// Admin: anomalies, and the band behind a series with its anomalies (the dashboard draws it).
import { createRoute, z } from '@hono/zod-openapi';
import { requireAdmin } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Db } from '../db/database.ts';
import { bearer, createRouter, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import { seriesBand } from './anomaly-band.ts';
import { listAnomaliesSince, type AnomalyRow } from './anomaly.repository.ts';
import type { DetectorSettings } from './seasonal-detector.ts';
import { SERIES_KINDS, type SeriesKind } from '../db/schema.ts';

/** The band is computed per request from the rollups; a day of minutes bounds that work. */
export const BAND_MINUTES_MAX = 1_440;

const Address = z.string().max(140).openapi({ description: 'an address as in /v1/admin/analytics (direct messages: user:*), or from:<sender> for a sender' });

const AnomalySchema = z
  .object({
    id: z.string(),
    series: z.object({ kind: z.enum(SERIES_KINDS), key: z.string() }),
    window_start: z.string(),
    window_end: z.string().nullable(),
    observed: z.number(),
    band: z.object({ low: z.number(), high: z.number() }),
    direction: z.enum(['spike', 'drop']),
    severity: z.number().openapi({ description: 'largest distance from the band centre, in half-widths of the band' }),
    state: z.enum(['open', 'closed']),
  })
  .openapi('Anomaly');

const anomalyJson = (a: AnomalyRow) => ({
  id: a.id, series: { kind: a.series_kind, key: a.series_key }, window_start: a.window_start.toISOString(),
  window_end: a.window_end?.toISOString() ?? null, observed: a.observed, band: { low: a.band_low, high: a.band_high },
  direction: a.direction, severity: a.severity, state: a.state,
});

export function anomaliesRoutes(auth: Authenticator, db: Db, settings: Record<SeriesKind, DetectorSettings>) {
  const app = createRouter();
  const adminOrSession = requireAdmin(auth, { allowSession: true }); // read-only: the dashboard draws them

  app.openapi(
    createRoute({
      method: 'get', path: '/admin/anomalies', tags: ['admin'], summary: 'Anomalies: the open ones and those that started recently',
      security: bearer, middleware: [adminOrSession] as const,
      request: { query: z.object({ address: Address.optional(), minutes: z.coerce.number().int().min(1).max(30 * 1440).default(1440) }) },
      responses: { 200: jsonResponse(z.object({ anomalies: z.array(AnomalySchema) }), 'Newest first, at most 1000'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const { address, minutes } = c.req.valid('query');
      const rows = await listAnomaliesSince(db, new Date(Date.now() - minutes * 60_000), address);
      return c.json({ anomalies: rows.map(anomalyJson) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/admin/anomalies/band', tags: ['admin'], summary: "A series' values, its seasonal band and its anomalies, minute by minute",
      security: bearer, middleware: [adminOrSession] as const,
      request: {
        query: z.object({
          address: Address, kind: z.enum(SERIES_KINDS).default('count'),
          minutes: z.coerce.number().int().min(1).max(BAND_MINUTES_MAX).default(60),
        }),
      },
      responses: {
        200: jsonResponse(z.object({
          points: z.array(z.object({ minute: z.string(), observed: z.number().nullable(), low: z.number().nullable(), high: z.number().nullable() })),
          anomalies: z.array(AnomalySchema),
        }), 'Oldest first; low and high are null while the series has under two days of history'),
        ...problemResponses(400, 401, 403),
      },
    }),
    async (c) => {
      const { address, kind, minutes } = c.req.valid('query');
      const band = await seriesBand(db, address, kind, settings[kind], new Date(), minutes);
      return c.json({
        points: band.points.map((p) => ({ ...p, minute: p.minute.toISOString() })),
        anomalies: band.anomalies.map(anomalyJson),
      }, 200);
    },
  );

  return app;
}
