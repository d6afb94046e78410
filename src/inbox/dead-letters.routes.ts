// Admin: every client's dead letters, with filters; redrive and purge in bounded batches.
import { createRoute } from '@hono/zod-openapi';
import { requireAdmin } from '../auth/auth.middleware.ts';
import { ADMIN_READS_KEY, type Reads } from '../db/read-replica.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { bearer, createRouter, jsonBody, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import type { DeadLettersService } from './dead-letters.service.ts';
import { AdminDeadLetterQuery, AdminRedriveSchema, DeadLetterPageSchema, RedrivenSchema, toDate as date } from './inbox.schemas.ts';

export function deadLettersRoutes(auth: Authenticator, deadLetters: DeadLettersService, reads: Reads) {
  const app = createRouter();
  // The dashboard's dead-letter browser lists and redrives with its admin session; purge, which
  // cannot be undone, takes the admin token.
  const adminOrSession = requireAdmin(auth, { allowSession: true });
  app.use('/admin/dead-letters', adminOrSession);
  app.use('/admin/dead-letters/redrive', adminOrSession);
  app.use('/admin/dead-letters/purge', requireAdmin(auth));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/dead-letters',
      tags: ['admin'],
      summary: 'Dead letters of all clients, newest first',
      security: bearer,
      request: { query: AdminDeadLetterQuery },
      responses: { 200: jsonResponse(DeadLetterPageSchema, 'One page'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const filter = { clientId: q.client_id, errorLike: q.error, since: date(q.since), until: date(q.until) };
      // Operators' reads may go to a read replica, fenced after their own redrives and purges.
      return c.json(await reads.read(ADMIN_READS_KEY, (db) => deadLetters.list(filter, q.before, q.limit, db)), 200);
    },
  );

  for (const action of ['redrive', 'purge'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/admin/dead-letters/${action}`,
        tags: ['admin'],
        summary: action === 'redrive' ? 'Put dead letters back in their queues' : 'Delete dead letters',
        description: 'All, or those matching the filter, in bounded batches until nothing matches, or max_batches or max_seconds is reached; call again while done is false.',
        security: bearer,
        request: { body: jsonBody(AdminRedriveSchema) },
        responses: { 200: jsonResponse(RedrivenSchema, 'Progress'), ...problemResponses(400, 401, 403, 413, 415) },
      }),
      async (c) => {
        const b = c.req.valid('json');
        const filter = { clientId: b.client_id, errorLike: b.error, since: date(b.since), until: date(b.until) };
        const run = { batchSize: b.batch_size, maxBatches: b.max_batches, maxSeconds: b.max_seconds };
        const done = await (action === 'redrive' ? deadLetters.redrive(filter, run) : deadLetters.purge(filter, run));
        reads.noteWrite(ADMIN_READS_KEY);
        return c.json(done, 200);
      },
    );
  }

  return app;
}
