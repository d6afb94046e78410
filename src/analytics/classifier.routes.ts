// Admin: content classification per topic, teaching the classifier, and its state.
import { createRoute } from '@hono/zod-openapi';
import { requireAdmin } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { bearer, createRouter, jsonBody, jsonResponse, requireJsonBody } from '../http/openapi.ts';
import { ApiError, problemResponses } from '../http/problem.ts';
import { TopicParams } from '../topics/topics.schemas.ts';
import type { TopicClassifierRow } from './classifier.repository.ts';
import {
  ClassifierStatusSchema, TaughtSchema, TeachBodySchema, TopicClassifierBodySchema, TopicClassifierDeletedSchema, TopicClassifierSchema,
} from './classifier.schemas.ts';
import type { ClassifierService } from './classifier.service.ts';

const topicJson = (row: TopicClassifierRow) => ({ ...row, updated_at: row.updated_at.toISOString() });

export function classifierRoutes(auth: Authenticator, classifier: ClassifierService) {
  const app = createRouter();
  const admin = requireAdmin(auth);
  const adminOrSession = requireAdmin(auth, { allowSession: true }); // read-only: the dashboard shows it

  app.openapi(
    createRoute({
      method: 'get', path: '/admin/topics/{topic}/classifier', tags: ['admin'], summary: "A topic's content classifier", security: bearer,
      middleware: [admin] as const,
      request: { params: TopicParams },
      responses: { 200: jsonResponse(TopicClassifierSchema, 'The classifier settings'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { topic } = c.req.valid('param');
      const row = await classifier.topic(topic);
      if (!row) throw new ApiError('NotFound', `topic:${topic} is not classified`);
      return c.json(topicJson(row), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put', path: '/admin/topics/{topic}/classifier', tags: ['admin'], summary: "Classify a topic's messages",
      description: 'From now on (within a few seconds in every process) the analytics stage labels every message on the topic with the current model. Labels scoring at least threshold, other than the quiet labels, are published to topic:switchyard.labels.',
      security: bearer, middleware: [admin, requireJsonBody] as const,
      request: { params: TopicParams, body: jsonBody(TopicClassifierBodySchema) },
      responses: { 200: jsonResponse(TopicClassifierSchema, 'The classifier settings'), ...problemResponses(400, 401, 403, 413, 415) },
    }),
    async (c) => {
      const { topic } = c.req.valid('param');
      return c.json(topicJson(await classifier.putTopic(topic, c.req.valid('json'))), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/admin/topics/{topic}/classifier', tags: ['admin'], summary: "Stop classifying a topic's messages", security: bearer,
      middleware: [admin] as const,
      request: { params: TopicParams },
      responses: { 200: jsonResponse(TopicClassifierDeletedSchema, 'Deleted (false if it was not classified)'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const { topic } = c.req.valid('param');
      return c.json({ topic, deleted: await classifier.deleteTopic(topic) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post', path: '/admin/classifier/labels', tags: ['admin'], summary: 'Teach the classifier the right labels of messages',
      description: 'The messages must still be in the log. The retrain job (once a minute, one process at a time) then trains a new model version, which every analytics process picks up by itself.',
      security: bearer, middleware: [admin, requireJsonBody] as const,
      request: { body: jsonBody(TeachBodySchema) },
      responses: { 200: jsonResponse(TaughtSchema, 'Stored'), ...problemResponses(400, 401, 403, 404, 413, 415) },
    }),
    async (c) => c.json({ taught: await classifier.teach(c.req.valid('json').labels) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/admin/classifier', tags: ['admin'], summary: 'The model in use, the classified topics and their labels over the last hour',
      security: bearer, middleware: [adminOrSession] as const,
      responses: { 200: jsonResponse(ClassifierStatusSchema, 'The classifier'), ...problemResponses(401, 403) },
    }),
    async (c) => {
      const { model, topics, labels } = await classifier.status();
      return c.json({
        model: model ? { version: model.version, trained_at: model.trained_at.toISOString() } : null,
        topics: topics.map(topicJson), labels_last_hour: labels,
      }, 200);
    },
  );

  return app;
}
