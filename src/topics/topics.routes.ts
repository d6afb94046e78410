// Admin: topic policies (who may publish and subscribe) and per-topic payload schemas.
import { createRoute } from '@hono/zod-openapi';
import { requireAdmin } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { bearer, createRouter, jsonBody, jsonResponse, requireJsonBody } from '../http/openapi.ts';
import { ApiError, problemResponses } from '../http/problem.ts';
import {
  JsonSchemaDocument, TopicParams, TopicPolicyBodySchema, TopicPolicyChangedSchema, TopicPolicySchema, TopicSchemaDeletedSchema,
  TopicSchemaSchema,
} from './topics.schemas.ts';
import type { TopicsService } from './topics.service.ts';

export function topicsRoutes(auth: Authenticator, topics: TopicsService) {
  const app = createRouter();
  app.use('/admin/topics/*', requireAdmin(auth));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/topics/{topic}/policy',
      tags: ['admin'],
      summary: "A topic's policy: who may publish and subscribe",
      security: bearer,
      request: { params: TopicParams },
      responses: { 200: jsonResponse(TopicPolicySchema, 'null: open to every authenticated client'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const { topic } = c.req.valid('param');
      return c.json({ topic, ...(await topics.policy(topic)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/admin/topics/{topic}/policy',
      tags: ['admin'],
      summary: "Replace a topic's policy",
      description: 'An action that is absent or null is open to every authenticated client. Clients no longer granted subscribe are unsubscribed from the topic.',
      security: bearer,
      middleware: [requireJsonBody] as const,
      request: { params: TopicParams, body: jsonBody(TopicPolicyBodySchema) },
      responses: { 200: jsonResponse(TopicPolicyChangedSchema, 'The policy now'), ...problemResponses(400, 401, 403, 413, 415) },
    }),
    async (c) => {
      const { topic } = c.req.valid('param');
      return c.json({ topic, ...(await topics.replacePolicy(topic, c.req.valid('json'))) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/admin/topics/{topic}/policy',
      tags: ['admin'],
      summary: "Remove a topic's policy (open to every authenticated client)",
      security: bearer,
      request: { params: TopicParams },
      responses: { 200: jsonResponse(TopicPolicyChangedSchema, 'The policy now'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const { topic } = c.req.valid('param');
      return c.json({ topic, ...(await topics.replacePolicy(topic, {})) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/topics/{topic}/schema',
      tags: ['admin'],
      summary: "A topic's payload JSON Schema",
      security: bearer,
      request: { params: TopicParams },
      responses: { 200: jsonResponse(TopicSchemaSchema, 'The schema'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { topic } = c.req.valid('param');
      const schema = await topics.schema(topic);
      if (schema === undefined) throw new ApiError('NotFound', `topic:${topic} has no schema`);
      return c.json({ topic, schema: schema as Record<string, unknown> }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/admin/topics/{topic}/schema',
      tags: ['admin'],
      summary: "Set a topic's payload JSON Schema",
      description: 'From now on the router refuses (422 SchemaViolation) payloads to the topic that do not match it. The body is the schema: JSON Schema 2020-12, or draft-07 when its $schema says so; unknown keywords are refused, remote $refs are not fetched.',
      security: bearer,
      middleware: [requireJsonBody] as const,
      request: { params: TopicParams, body: jsonBody(JsonSchemaDocument) },
      responses: { 200: jsonResponse(TopicSchemaSchema, 'The schema'), ...problemResponses(400, 401, 403, 413, 415) },
    }),
    async (c) => {
      const { topic } = c.req.valid('param');
      const schema = c.req.valid('json');
      await topics.putSchema(topic, schema);
      return c.json({ topic, schema }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/admin/topics/{topic}/schema',
      tags: ['admin'],
      summary: "Remove a topic's payload JSON Schema",
      security: bearer,
      request: { params: TopicParams },
      responses: { 200: jsonResponse(TopicSchemaDeletedSchema, 'Deleted (false if there was none)'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const { topic } = c.req.valid('param');
      return c.json({ topic, deleted: await topics.deleteSchema(topic) }, 200);
    },
  );

  return app;
}
