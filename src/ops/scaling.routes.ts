// Admin: the scaling signal (scaling.ts), for people and for autoscalers that cannot read
// Prometheus; the same numbers are the metric switchyard_recommended_workers{role}.
import { createRoute, z } from '@hono/zod-openapi';
import { requireAdmin } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { ScalingThresholds } from '../config.ts';
import { ROLES } from '../config.ts';
import { bearer, createRouter, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import type { OpsSnapshots } from './ops-snapshot.ts';
import { recommendWorkers } from './scaling.ts';

const RecommendationSchema = z.object({
  role: z.enum(ROLES),
  recommended: z.number().int().openapi({ description: 'workers (processes) of this role the backlog calls for' }),
  signals: z.object({
    rows_behind: z.number().optional().openapi({ description: 'log entries the stage has not passed (counted up to a cap)' }),
    rows_capped: z.boolean().optional().openapi({ description: 'rows_behind stopped counting at the cap' }),
    lag_seconds: z.number().optional().openapi({ description: 'age of the oldest entry the stage has not passed' }),
    visible: z.number().optional().openapi({ description: 'visible messages waiting in all client queues' }),
    published_per_second: z.number().optional().openapi({ description: 'over the last complete minute' }),
  }),
  reason: z.string(),
}).openapi('ScalingRecommendation');

const ScalingSchema = z.object({
  computed_at: z.string().openapi({ description: 'when the numbers were read (cached up to 2 s)' }),
  roles: z.array(RecommendationSchema),
  thresholds: z.object({
    min_workers: z.number().int(),
    max_workers: z.number().int(),
    stage_rows_per_worker: z.number().int(),
    stage_lag_seconds_per_worker: z.number().int(),
    queue_visible_per_worker: z.number().int(),
    publish_rate_per_worker: z.number().int(),
  }),
}).openapi('Scaling');

export function scalingRoutes(auth: Authenticator, snapshots: OpsSnapshots, t: ScalingThresholds) {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/scaling',
      tags: ['admin'],
      summary: 'Recommended workers per role, from stage lag, queue depth and publish rate',
      security: bearer,
      middleware: [requireAdmin(auth)] as const,
      responses: { 200: jsonResponse(ScalingSchema, 'One recommendation per role'), ...problemResponses(401, 403) },
    }),
    async (c) => {
      const snapshot = await snapshots.current();
      return c.json({
        computed_at: snapshot.takenAt.toISOString(),
        roles: recommendWorkers(snapshot, t),
        thresholds: {
          min_workers: t.minWorkers,
          max_workers: t.maxWorkers,
          stage_rows_per_worker: t.stageRowsPerWorker,
          stage_lag_seconds_per_worker: t.stageLagSecondsPerWorker,
          queue_visible_per_worker: t.queueVisiblePerWorker,
          publish_rate_per_worker: t.publishRatePerWorker,
        },
      }, 200);
    },
  );
  return app;
}
