import { createRoute } from '@hono/zod-openapi';
import { requireClient } from '../clients/auth.middleware.ts';
import type { Authenticator } from '../clients/authenticator.ts';
import { bearer, createRouter, jsonBody, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import { PublishBatchSchema, PublishedBatchSchema, PublishedSchema, PublishSchema } from './messages.schemas.ts';
import type { MessagesService } from './messages.service.ts';

export function messagesRoutes(auth: Authenticator, messages: MessagesService) {
  const app = createRouter();
  app.use('/messages', requireClient(auth));
  app.use('/messages/*', requireClient(auth));

  app.openapi(
    createRoute({
      method: 'post',
      path: '/messages',
      tags: ['messages'],
      summary: 'Publish a message',
      description: 'Answers 202 once the message is committed to the log: from then on it is not lost.',
      security: bearer,
      request: { body: jsonBody(PublishSchema) },
      responses: {
        202: jsonResponse(PublishedSchema, 'Committed'),
        ...problemResponses(400, 401, 403, 413, 415, 503),
      },
    }),
    async (c) => {
      const [published] = await messages.publish(c.var.client, [c.req.valid('json')], ['']);
      return c.json({ id: published!.id, ...(published!.duplicate ? { duplicate: true } : {}) }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/messages/batch',
      tags: ['messages'],
      summary: 'Publish up to 1000 messages, all or none',
      description: 'If any message is invalid or not allowed, nothing is written and the errors name each one (messages.<index>.<field>).',
      security: bearer,
      request: { body: jsonBody(PublishBatchSchema) },
      responses: {
        202: jsonResponse(PublishedBatchSchema, 'All committed, ids in request order'),
        ...problemResponses(400, 401, 403, 413, 415, 503),
      },
    }),
    async (c) => {
      const inputs = c.req.valid('json').messages;
      const published = await messages.publish(c.var.client, inputs, inputs.map((_, i) => `messages.${i}`));
      const duplicates = published.flatMap((p, i) => (p.duplicate ? [i] : []));
      return c.json({ ids: published.map((p) => p.id), ...(duplicates.length > 0 ? { duplicates } : {}) }, 202);
    },
  );

  return app;
}
