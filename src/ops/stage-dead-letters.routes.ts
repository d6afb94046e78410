// Admin: the messages a stage gave up on after its retries (switchyard.stage_dead_letter), and
// their redrive: back to the stage's retry table, due now, so the stage runs them again on its
// next look for due retries (woken by NOTIFY, or at its next poll) and dead-letters them again if
// they still fail.
import { createRoute } from '@hono/zod-openapi';
import { requireAdmin } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Db } from '../db/database.ts';
import { bearer, createRouter, jsonBody, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import { listStageDeadLetters, redriveStageDeadLetters } from '../queue/stage-retry.repository.ts';
import {
  STAGE_REDRIVE_MAX, StageDeadLetterListSchema, StageDeadLetterQuery, StageParams, StageRedriveSchema, StageRedrivenSchema,
} from './stage-dead-letters.schemas.ts';

/** `wakeStages` tells the stages of every process to look for due retries now (signal 'log'). */
export function stageDeadLettersRoutes(auth: Authenticator, db: Db, wakeStages: () => void) {
  const app = createRouter();
  app.use('/admin/stages/*', requireAdmin(auth));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/stages/{stage}/dead-letters',
      tags: ['admin'],
      summary: 'Messages a stage gave up on after its retries, newest first',
      security: bearer,
      request: { params: StageParams, query: StageDeadLetterQuery },
      responses: { 200: jsonResponse(StageDeadLetterListSchema, 'The newest, at most limit'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const rows = await listStageDeadLetters(db, c.req.valid('param').stage, c.req.valid('query').limit);
      return c.json({
        dead_letters: rows.map((r) => ({ ...r, first_failed_at: r.first_failed_at.toISOString(), failed_at: r.failed_at.toISOString() })),
      }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/admin/stages/{stage}/dead-letters/redrive',
      tags: ['admin'],
      summary: "Give a stage's dead letters back to the stage, to run again now",
      description: `All of the stage's (the oldest first), or those of message_ids, at most ${STAGE_REDRIVE_MAX} per call.`,
      security: bearer,
      request: { params: StageParams, body: jsonBody(StageRedriveSchema) },
      responses: { 200: jsonResponse(StageRedrivenSchema, 'How many went back'), ...problemResponses(400, 401, 403, 413, 415) },
    }),
    async (c) => {
      const { message_ids: ids } = c.req.valid('json');
      const redriven = await redriveStageDeadLetters(db, c.req.valid('param').stage, ids, STAGE_REDRIVE_MAX);
      if (redriven > 0) wakeStages();
      return c.json({ redriven }, 200);
    },
  );

  return app;
}
