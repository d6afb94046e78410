// Admin: a client's queue policy (max receives, nack backoff, length limit and overflow, delivery
// rate). Unset values take the service defaults from the configuration.
import { createRoute } from '@hono/zod-openapi';
import { requireAdmin } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { getClient } from '../clients/clients.repository.ts';
import type { Db } from '../db/database.ts';
import { bearer, createRouter, jsonBody, jsonResponse } from '../http/openapi.ts';
import { ApiError, problemResponses } from '../http/problem.ts';
import { ClientIdParams } from '../clients/clients.schemas.ts';
import { QueuePolicySchema, QueuePolicyViewSchema } from './inbox.schemas.ts';
import { getQueuePolicy, replaceQueuePolicy, type QueuePolicyRow } from './queue-policy.repository.ts';

export interface QueuePolicyDefaults {
  maxReceives: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  maxLength: number;
  overflow: 'reject' | 'dead_letter';
}

export function queuePolicyRoutes(auth: Authenticator, db: Db, defaults: QueuePolicyDefaults) {
  const app = createRouter();
  app.use('/admin/clients/:id/queue-policy', requireAdmin(auth));

  const view = (clientId: string, row: QueuePolicyRow | undefined) => {
    const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : ms / 1000);
    const policy = {
      max_receives: row?.max_receives ?? null,
      backoff_base_seconds: seconds(row?.backoff_base_ms),
      backoff_cap_seconds: seconds(row?.backoff_cap_ms),
      max_length: row?.max_length ?? null,
      overflow: row?.overflow ?? null,
      delivery_rate: row?.delivery_rate ?? null,
      delivery_burst: row?.delivery_burst ?? null,
    };
    return {
      client_id: clientId,
      policy,
      effective: {
        max_receives: policy.max_receives ?? defaults.maxReceives,
        backoff_base_seconds: policy.backoff_base_seconds ?? defaults.backoffBaseMs / 1000,
        backoff_cap_seconds: policy.backoff_cap_seconds ?? defaults.backoffCapMs / 1000,
        max_length: policy.max_length ?? defaults.maxLength,
        overflow: policy.overflow ?? defaults.overflow,
        delivery_rate: policy.delivery_rate,
        delivery_burst: policy.delivery_rate === null ? null : (policy.delivery_burst ?? Math.max(1, Math.ceil(policy.delivery_rate))),
      },
    };
  };

  const knownClient = async (id: string) => {
    if (!(await getClient(db, id))) throw new ApiError('NotFound', `no client ${id}`);
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/clients/{id}/queue-policy',
      tags: ['admin'],
      summary: "A client's queue policy",
      security: bearer,
      request: { params: ClientIdParams },
      responses: { 200: jsonResponse(QueuePolicyViewSchema, 'Its own settings and the effective ones'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await knownClient(id);
      return c.json(view(id, await getQueuePolicy(db, id)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/admin/clients/{id}/queue-policy',
      tags: ['admin'],
      summary: "Replace a client's queue policy",
      security: bearer,
      request: { params: ClientIdParams, body: jsonBody(QueuePolicySchema) },
      responses: { 200: jsonResponse(QueuePolicyViewSchema, 'Its own settings and the effective ones'), ...problemResponses(400, 401, 403, 404, 413, 415) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const b = c.req.valid('json');
      await knownClient(id);
      const ms = (s: number | null | undefined) => (s === null || s === undefined ? null : Math.round(s * 1000));
      const row: QueuePolicyRow = {
        max_receives: b.max_receives ?? null,
        backoff_base_ms: ms(b.backoff_base_seconds),
        backoff_cap_ms: ms(b.backoff_cap_seconds),
        max_length: b.max_length ?? null,
        overflow: b.overflow ?? null,
        delivery_rate: b.delivery_rate ?? null,
        delivery_burst: b.delivery_burst ?? null,
      };
      await db.transaction().execute((tx) => replaceQueuePolicy(tx, id, row));
      return c.json(view(id, row), 200);
    },
  );

  return app;
}
