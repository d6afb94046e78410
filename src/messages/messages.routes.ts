import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { requireClient } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Limits } from '../config.ts';
import { bearer, createRouter, jsonBody, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import { idempotencyKeyOf, registerIdempotencyKeyParameter } from '../idempotency/idempotency.schemas.ts';
import { createMessageSchemas, PublishedBatchSchema, PublishedSchema, type PublishInput } from './messages.schemas.ts';
import type { Published } from './messages.service.ts';
import type { PublishGate } from './publish-gate.ts';
import { publishedAnswer, publishedBatchAnswer, type Publisher } from './publisher.ts';

const PROBLEMS = problemResponses(400, 401, 403, 409, 413, 415, 422, 429, 503);

export function messagesRoutes(auth: Authenticator, publisher: Publisher, limits: Limits, gate: PublishGate) {
  const app = createRouter();
  const { PublishSchema, PublishBatchSchema } = createMessageSchemas(limits);
  const idempotencyKeyParameter = registerIdempotencyKeyParameter(app.openAPIRegistry);
  // Both match /messages too: once each, or the rate limit counts twice. The gate comes first: a
  // refusal under overload costs no token lookup and no body read.
  app.use('/messages/*', gate.middleware());
  app.use('/messages/*', requireClient(auth));

  async function publish(c: Context, inputs: PublishInput[], paths: string[], body: unknown, key: string | undefined): Promise<Published[]> {
    const result = await publisher.publish({
      client: c.get('client'), inputs, paths, body, path: c.req.path, idempotencyKey: key, signal: c.req.raw.signal,
    });
    if (result.replayed) c.header('Idempotent-Replayed', 'true');
    return result.published;
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/messages',
      tags: ['messages'],
      summary: 'Publish a message',
      description: 'Answers 202 once the message is committed to the log: from then on it is not lost. With an Idempotency-Key, a retry returns the first result instead of publishing again.',
      security: bearer,
      request: { body: jsonBody(PublishSchema) },
      parameters: idempotencyKeyParameter,
      responses: { 202: jsonResponse(PublishedSchema, 'Committed'), ...PROBLEMS },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const [published] = await publish(c, [input], [''], input, idempotencyKeyOf(c));
      return c.json(publishedAnswer(published!), 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/messages/batch',
      tags: ['messages'],
      summary: `Publish up to ${limits.batchMessages} messages, all or none`,
      description: 'If any message is invalid or not allowed, nothing is written and the errors name each one (messages.<index>.<field>).',
      security: bearer,
      request: { body: jsonBody(PublishBatchSchema) },
      parameters: idempotencyKeyParameter,
      responses: { 202: jsonResponse(PublishedBatchSchema, 'All committed, ids in request order'), ...PROBLEMS },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const published = await publish(c, body.messages, body.messages.map((_, i) => `messages.${i}`), body, idempotencyKeyOf(c));
      return c.json(publishedBatchAnswer(published), 202);
    },
  );

  return app;
}
