// A client's webhook endpoint, set by the client itself (/clients/me/webhook) or by the admin
// for it (/admin/clients/{id}/webhook): register or change it, read it, remove it, rotate its
// secret. The secret is shown once, when created and when rotated.
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { requireAdmin, requireClient } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { getClient } from '../clients/clients.repository.ts';
import { ClientIdParams } from '../clients/clients.schemas.ts';
import type { Db } from '../db/database.ts';
import { bearer, createRouter, jsonBody, jsonResponse } from '../http/openapi.ts';
import { ApiError, problemResponses } from '../http/problem.ts';
import { WebhookAddressError, type AddressGuard } from './address-guard.ts';
import { generateWebhookSecret } from './webhook-signature.ts';
import {
  deleteWebhookEndpoint, findWebhookEndpoint, rotateWebhookSecret, upsertWebhookEndpoint, type WebhookEndpointRow,
} from './webhook.repository.ts';
import { WebhookInputSchema, WebhookRotateSchema, WebhookViewSchema } from './webhooks.schemas.ts';

function view(row: WebhookEndpointRow, secret?: string) {
  return {
    client_id: row.client_id, url: row.url, batch_size: row.batch_size, concurrency: row.concurrency, timeout_ms: row.timeout_ms,
    enabled: row.disabled_at === null, disabled_reason: row.disabled_reason, circuit_state: row.circuit_state,
    circuit_changed_at: row.circuit_changed_at?.toISOString() ?? null, last_error: row.last_error,
    rotating: row.previous_secret_until !== null && row.previous_secret_until > new Date(),
    ...(secret === undefined ? {} : { secret }),
  };
}

export function webhooksRoutes(auth: Authenticator, db: Db, guard: AddressGuard) {
  const app = createRouter();
  const ADMIN = '/admin/clients/{id}/webhook';
  const ME = '/clients/me/webhook';
  app.use('/admin/clients/:id/webhook', requireAdmin(auth));
  app.use('/admin/clients/:id/webhook/*', requireAdmin(auth));
  app.use('/clients/me/webhook', requireClient(auth));
  app.use('/clients/me/webhook/*', requireClient(auth));

  // Whose endpoint: the admin names a client, a client is itself.
  const whose = async (c: Context, admin: boolean): Promise<string> => {
    if (!admin) return c.get('client').id;
    const id = c.req.param('id')!;
    if (!(await getClient(db, id))) throw new ApiError('NotFound', `no client ${id}`);
    return id;
  };
  const found = async (clientId: string) => {
    const row = await findWebhookEndpoint(db, clientId);
    if (!row) throw new ApiError('NotFound', 'no webhook endpoint is registered');
    return row;
  };

  for (const admin of [true, false]) {
    const path = admin ? ADMIN : ME;
    const tags = [admin ? 'admin' : 'clients'];
    const params = admin ? { params: ClientIdParams } : {};
    const who = admin ? "a client's" : 'your';

    app.openapi(createRoute({
      method: 'put', path, tags, security: bearer, summary: `Register or change ${who} webhook endpoint`,
      request: { ...params, body: jsonBody(WebhookInputSchema) },
      responses: {
        200: jsonResponse(WebhookViewSchema, 'Changed (an endpoint disabled by a 410 is enabled again)'),
        201: jsonResponse(WebhookViewSchema, 'Created, with its secret (shown once)'),
        ...problemResponses(400, 401, 403, 404),
      },
    }), async (c) => {
      const clientId = await whose(c, admin);
      const input = c.req.valid('json') as z.infer<typeof WebhookInputSchema>;
      try {
        guard.checkUrl(input.url);
      } catch (error) {
        if (!(error instanceof WebhookAddressError)) throw error;
        throw new ApiError('WebhookUrlRefused', `url ${error.message}`, { errors: [{ path: 'url', message: error.message }] });
      }
      const secret = generateWebhookSecret();
      const { created } = await upsertWebhookEndpoint(db, clientId, input, secret);
      const row = await found(clientId);
      return created ? c.json(view(row, secret), 201) : c.json(view(row), 200);
    });

    app.openapi(createRoute({
      method: 'get', path, tags, security: bearer, summary: `${admin ? "A client's" : 'Your'} webhook endpoint and its circuit`,
      request: { ...params },
      responses: { 200: jsonResponse(WebhookViewSchema, 'The endpoint (never its secret)'), ...problemResponses(400, 401, 403, 404) },
    }), async (c) => c.json(view(await found(await whose(c, admin))), 200));

    app.openapi(createRoute({
      method: 'delete', path, tags, security: bearer, summary: `Remove ${who} webhook endpoint`,
      request: { ...params },
      responses: { 200: jsonResponse(z.object({ deleted: z.boolean() }), 'Removed: the queue waits for other consumers'), ...problemResponses(400, 401, 403, 404) },
    }), async (c) => {
      const clientId = await whose(c, admin);
      if (!(await deleteWebhookEndpoint(db, clientId))) throw new ApiError('NotFound', 'no webhook endpoint is registered');
      return c.json({ deleted: true }, 200);
    });

    app.openapi(createRoute({
      method: 'post', path: `${path}/rotate-secret`, tags, security: bearer, summary: `Rotate ${who} webhook secret`,
      request: { ...params, body: jsonBody(WebhookRotateSchema) },
      responses: { 200: jsonResponse(WebhookViewSchema, 'The new secret (shown once); the previous one signs too for overlap_seconds'), ...problemResponses(400, 401, 403, 404) },
    }), async (c) => {
      const clientId = await whose(c, admin);
      const { overlap_seconds } = c.req.valid('json') as z.infer<typeof WebhookRotateSchema>;
      const secret = generateWebhookSecret();
      if (!(await rotateWebhookSecret(db, clientId, secret, overlap_seconds))) throw new ApiError('NotFound', 'no webhook endpoint is registered');
      return c.json(view(await found(clientId), secret), 200);
    });
  }
  return app;
}
