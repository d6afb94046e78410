import { createRoute } from '@hono/zod-openapi';
import type { Limits } from '../config.ts';
import { bearer, createRouter, jsonBody, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import { requireAdmin, requireClient } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { ClientIdParams, ClientSchema, ClientStatusSchema, createClientSchemas, RegisteredClientSchema } from './clients.schemas.ts';
import type { ClientsService } from './clients.service.ts';

export function clientsRoutes(auth: Authenticator, clients: ClientsService, limits: Limits) {
  const app = createRouter();
  const { RegisterClientSchema, ListenToSchema } = createClientSchemas(limits);
  app.use('/admin/clients/*', requireAdmin(auth));

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
      responses: { 200: jsonResponse(ClientSchema, 'The client'), ...problemResponses(401, 403, 429) },
    }),
    async (c) => c.json(await clients.describe(c.var.client), 200),
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/clients/me/listen-to',
      tags: ['clients'],
      summary: 'Replace what the calling client listens to',
      description: 'Each address is authorized now: user:<own name>, groups the user is a member of, topics whose policy grants subscribe.',
      security: bearer,
      middleware: [requireClient(auth)] as const,
      request: { body: jsonBody(ListenToSchema) },
      responses: { 200: jsonResponse(ClientSchema, 'The client'), ...problemResponses(400, 401, 403, 413, 415, 429) },
    }),
    async (c) => c.json(await clients.replaceListenTo(c.var.client, c.req.valid('json').listen_to), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/clients/{id}',
      tags: ['admin'],
      summary: 'A client, what it listens to and whether it is revoked',
      security: bearer,
      request: { params: ClientIdParams },
      responses: { 200: jsonResponse(ClientStatusSchema, 'The client'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => c.json(await clients.status(c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/admin/clients/{id}/rotate',
      tags: ['admin'],
      summary: "Replace a client's token",
      description: 'Returns the new token, shown only here. The old token fails at once in every process; streams opened with it close within one heartbeat. The client keeps its id, listen-to list and queue.',
      security: bearer,
      request: { params: ClientIdParams },
      responses: { 200: jsonResponse(RegisteredClientSchema, 'The client, with its new token'), ...problemResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => c.json(await clients.rotate(c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/admin/clients/{id}/revoke',
      tags: ['admin'],
      summary: 'Revoke a client for good',
      description: 'Its token fails at once in every process and streams using it close within one heartbeat. It is unsubscribed from everything and its queue is emptied. Revoking again changes nothing.',
      security: bearer,
      request: { params: ClientIdParams },
      responses: { 200: jsonResponse(ClientStatusSchema, 'The revoked client'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => c.json(await clients.revoke(c.req.valid('param').id), 200),
  );

  return app;
}
