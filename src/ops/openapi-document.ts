// GET /openapi.json: the OpenAPI 3.1 document of every route the app answers, generated from the
// same zod schemas that validate requests. Registered last, once every router is mounted.
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/env.ts';

export function serveOpenApiDocument(app: OpenAPIHono<AppEnv>, o: { metricsToken: boolean }): void {
  // The document lists itself too, so that every route the app answers is in it (test/openapi.test.ts).
  app.openAPIRegistry.registerPath({
    method: 'get', path: '/openapi.json', tags: ['operations'], summary: 'This document (OpenAPI 3.1)',
    responses: { 200: { description: 'The OpenAPI document', content: { 'application/json': { schema: z.object({ openapi: z.string() }).passthrough() } } } },
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Switchyard', version: '1', description: 'A real-time message router on PostgreSQL.' },
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  if (o.metricsToken) {
    app.openAPIRegistry.registerComponent('securitySchemes', 'metrics', { type: 'http', scheme: 'bearer', description: 'SWITCHYARD_METRICS_TOKEN' });
  }
}
