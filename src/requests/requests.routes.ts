import { createRoute } from '@hono/zod-openapi';
import { requireClient } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { bearer, createRouter, jsonBody, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import type { Limits } from '../config.ts';
import { createRequestSchema, ReplySchema } from './requests.schemas.ts';
import type { RequestsService } from './requests.service.ts';

export function requestsRoutes(auth: Authenticator, requests: RequestsService, limits: Limits, shutdown: AbortSignal) {
  const app = createRouter();
  const RequestSchema = createRequestSchema(limits);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/requests',
      tags: ['messages'],
      summary: 'Publish a request and wait for its reply',
      description: 'Publishes the message with a correlation id and reply_to, then waits up to timeout_seconds for a message to reply_to with that correlation id, newer than the request, from a client that may listen to the request\'s `to` (for user:carol only Carol\'s clients; for a group its members; for a topic its subscribers). reply_to must be an address the caller may listen to (403 ReplyToForbidden). 504 ReplyTimeout (with message_id and correlation_id) when no reply comes; 429 TooManyWaits when the client already holds SWITCHYARD_MAX_WAITS_PER_CLIENT waits.',
      security: bearer,
      middleware: [requireClient(auth)] as const,
      request: { body: jsonBody(RequestSchema) },
      responses: {
        200: jsonResponse(ReplySchema, 'The reply'),
        ...problemResponses(400, 401, 403, 413, 415, 422, 429, 503, 504),
      },
    }),
    async (c) => {
      const signal = AbortSignal.any([c.req.raw.signal, shutdown]);
      return c.json(await requests.request(c.var.client, c.req.valid('json'), signal), 200);
    },
  );

  return app;
}
