import { z } from '@hono/zod-openapi';
import { AddressSchema } from './address.ts';

export const BATCH_MAX = 1000;
export const DELAY_MAX_SECONDS = 900;
export const TTL_MAX_SECONDS = 14 * 24 * 3600;
export const HEADERS_MAX = 32;
const TOKEN_MAX = 128;

const Token = z.string().min(1).max(TOKEN_MAX);

export const HeadersSchema = z
  .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a header name is 1-64 letters, digits and _ . -'), z.string().max(1024))
  .refine((headers) => Object.keys(headers).length <= HEADERS_MAX, `at most ${HEADERS_MAX} headers`)
  .openapi({ example: { 'trace-id': 'abc123' } });

export const PUBLISH_FIELDS = {
  to: AddressSchema,
  type: Token.optional().openapi({ example: 'chat.message' }),
  payload: z.json().openapi({ description: 'any JSON value', example: { text: 'hello' } }),
  headers: HeadersSchema.optional(),
  priority: z.number().int().min(0).max(9).optional().openapi({ description: '0 (default) to 9' }),
  delay_seconds: z.number().int().min(0).max(DELAY_MAX_SECONDS).optional(),
  deliver_at: z.iso.datetime({ offset: true }).optional()
    .openapi({ description: `deliver at this time instead of at once; at most ${DELAY_MAX_SECONDS} s ahead` }),
  ttl_seconds: z.number().int().min(1).max(TTL_MAX_SECONDS).optional(),
  group_id: Token.optional().openapi({ description: 'messages of one group are delivered in order, one at a time' }),
  dedup_id: Token.optional().openapi({ description: 'a repeat from the same sender within the deduplication window is not published again; the answer carries the first id' }),
  correlation_id: Token.optional(),
  reply_to: AddressSchema.optional(),
};

/** deliver_at and delay_seconds exclude each other, and deliver_at is at most DELAY_MAX_SECONDS ahead. */
export function checkDelivery(message: { deliver_at?: string | undefined; delay_seconds?: number | undefined }, ctx: z.RefinementCtx): void {
  if (message.deliver_at === undefined) return;
  if (message.delay_seconds !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['deliver_at'], message: 'give delay_seconds or deliver_at, not both' });
  } else if (Date.parse(message.deliver_at) > Date.now() + DELAY_MAX_SECONDS * 1000) {
    ctx.addIssue({ code: 'custom', path: ['deliver_at'], message: `at most ${DELAY_MAX_SECONDS} seconds ahead` });
  }
}

export const PublishSchema = z.strictObject(PUBLISH_FIELDS).superRefine(checkDelivery).openapi('PublishMessage');

export type PublishInput = z.infer<typeof PublishSchema>;

export const PublishBatchSchema = z
  .strictObject({ messages: z.array(PublishSchema).min(1).max(BATCH_MAX) })
  .openapi('PublishBatch');

export const PublishedSchema = z
  .object({
    id: z.string().openapi({ format: 'uuid' }),
    duplicate: z.boolean().optional().openapi({ description: 'true when dedup_id matched an earlier message: id is that one' }),
  })
  .openapi('Published');
export const PublishedBatchSchema = z
  .object({
    ids: z.array(z.string()),
    duplicates: z.array(z.number().int()).optional().openapi({ description: 'indexes of messages that were duplicates' }),
  })
  .openapi('PublishedBatch');
