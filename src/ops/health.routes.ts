// Liveness (the process answers) and readiness (the database answers and we are not draining).
import { createRoute, z } from '@hono/zod-openapi';
import type { Db } from '../db/database.ts';
import { createRouter, jsonResponse } from '../http/openapi.ts';
import { ApiError, problemResponses } from '../http/problem.ts';
import { pingDatabase } from './health.repository.ts';

export function healthRoutes(db: Db, isDraining: () => boolean) {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['operations'],
      summary: 'Liveness: the process answers',
      responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }), 'Alive') },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['operations'],
      summary: 'Readiness: the database answers and the service is not shutting down',
      responses: { 200: jsonResponse(z.object({ status: z.literal('ready') }), 'Ready'), ...problemResponses(503) },
    }),
    async (c) => {
      if (isDraining()) throw new ApiError('ShuttingDown');
      await pingDatabase(db);
      return c.json({ status: 'ready' as const }, 200);
    },
  );
  return app;
}
