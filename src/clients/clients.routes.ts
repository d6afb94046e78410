import { createRoute } from '@hono/zod-openapi';
import { bearer, createRouter, jsonBody, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import { requireAdmin, requireClient } from './auth.middleware.ts';
import type { Authenticator } from './authenticator.ts';
import { ClientSchema, ListenToSchema, RegisterClientSchema, RegisteredClientSchema } from './clients.schemas.ts';
import type { ClientsService } from './clients.service.ts';

export function clientsRoutes(auth: Authenticator, clients: ClientsService) {
  const app = createRouter();

  app.openapi(
    createRoute({
      method: 'post',
      path: '/clients',
      tags: ['clients'],
      summary: 'Register a client (admin)',
      description: 'Creates a client with its listen-to list and its own delivery queue. The token is shown only here.',
      security: bearer,
      middleware: [requireAdmin(auth)] as const,
      request: { body: jsonBody(RegisterClientSchema) },
      responses: {
        201: jsonResponse(RegisteredClientSchema, 'The client, with its token'),
        ...problemResponses(400, 401, 403, 413, 415),
      },
    }),
    async (c) => {
      const { name, listen_to } = c.req.valid('json');
      return c.json(await clients.register(name, listen_to), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/clients/me',
      tags: ['clients'],
      summary: 'The calling client and what it listens to',
      security: bearer,
      middleware: [requireClient(auth)] as const,
      responses: { 200: jsonResponse(ClientSchema, 'The client'), ...problemResponses(401, 403) },
    }),
    async (c) => c.json(await clients.describe(c.var.client), 200),
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/clients/me/listen-to',
      tags: ['clients'],
      summary: 'Replace what the calling client listens to',
      security: bearer,
      middleware: [requireClient(auth)] as const,
      request: { body: jsonBody(ListenToSchema) },
      responses: { 200: jsonResponse(ClientSchema, 'The client'), ...problemResponses(400, 401, 403, 413, 415) },
    }),
    async (c) => c.json(await clients.replaceListenTo(c.var.client, c.req.valid('json').listen_to), 200),
  );

  return app;
}
