// History, newest first, one conversation at a time, for its participants: who may read it is
// auth/access.ts's history rule (a topic's readers, a group's members, the two ends of a direct
// conversation).
import { createRoute, z } from '@hono/zod-openapi';
import type { AddressAccess } from '../auth/access.ts';
import { requireClient } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Reads } from '../db/read-replica.ts';
import { bearer, createRouter, jsonResponse } from '../http/openapi.ts';
import { ApiError, problemResponses } from '../http/problem.ts';
import { addressSchema, userAddress } from '../addresses/address.ts';
import { ConversationFields, OutgoingMessageSchema, toOutgoingMessage } from '../messages/outgoing-message.ts';
import { listHistoryBefore } from './history.repository.ts';

export const HISTORY_PAGE_MAX = 200;

function historyQuery(maxAddressLength: number) {
  return z.object({
    conversation: addressSchema(maxAddressLength).openapi({
      description: 'topic:<name>, group:<name>, or user:<name> for your direct conversation with that user',
    }),
    before: z.uuid().optional().openapi({ description: 'return messages older than this message id' }),
    limit: z.coerce.number().int().min(1).max(HISTORY_PAGE_MAX).default(50),
  });
}

const HistoryMessageSchema = OutgoingMessageSchema
  .extend({
    ...ConversationFields,
    label: z.object({ label: z.string(), score: z.number(), model_version: z.number().int() }).nullable()
      .openapi({ description: 'the content label, on a classified topic (null otherwise, or when sampled out)' }),
  })
  .openapi('HistoryMessage');

const HistoryPageSchema = z
  .object({
    messages: z.array(HistoryMessageSchema),
    next_before: z.string().nullable().openapi({ description: 'pass as before= for the next page; null at the start' }),
  })
  .openapi('HistoryPage');

export function historyRoutes(auth: Authenticator, reads: Reads, access: AddressAccess, maxAddressLength: number) {
  const app = createRouter();
  const HistoryQuery = historyQuery(maxAddressLength);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/history',
      tags: ['history'],
      summary: "A conversation's history, newest first",
      security: bearer,
      middleware: [requireClient(auth)] as const,
      request: { query: HistoryQuery },
      responses: { 200: jsonResponse(HistoryPageSchema, 'One page'), ...problemResponses(400, 401, 403, 429) },
    }),
    async (c) => {
      const { conversation, before, limit } = c.req.valid('query');
      const me = c.var.client;
      const refusal = await access.historyRefusal(me.name, conversation);
      if (refusal) throw new ApiError(refusal.code, refusal.message);
      // Fenced by the reader's address: a client that has just published reads its own message.
      const rows = await reads.read(userAddress(me.name), (db) => listHistoryBefore(db, userAddress(me.name), conversation, before, limit));
      return c.json(
        {
          messages: rows.map((row) => ({
            ...toOutgoingMessage(row, row.created_at),
            correlation_id: row.correlation_id,
            reply_to: row.reply_to,
            label: row.label === null ? null : { label: row.label, score: row.label_score!, model_version: row.label_model_version! },
          })),
          next_before: rows.length === limit ? rows[rows.length - 1]!.id : null,
        },
        200,
      );
    },
  );

  return app;
}
