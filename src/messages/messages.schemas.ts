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

export const PublishSchema = z
  .strictObject({
    to: AddressSchema,
    type: Token.optional().openapi({ example: 'chat.message' }),
    payload: z.json().openapi({ description: 'any JSON value', example: { text: 'hello' } }),
    headers: HeadersSchema.optional(),
    priority: z.number().int().min(0).max(9).optional().openapi({ description: '0 (default) to 9' }),
    delay_seconds: z.number().int().min(0).max(DELAY_MAX_SECONDS).optional(),
    ttl_seconds: z.number().int().min(1).max(TTL_MAX_SECONDS).optional(),
    group_id: Token.optional().openapi({ description: 'messages of one group are delivered in order, one at a time' }),
    dedup_id: Token.optional(),
    correlation_id: Token.optional(),
    reply_to: AddressSchema.optional(),
  })
  .openapi('PublishMessage');

export type PublishInput = z.infer<typeof PublishSchema>;

export const PublishBatchSchema = z
  .strictObject({ messages: z.array(PublishSchema).min(1).max(BATCH_MAX) })
  .openapi('PublishBatch');

export const PublishedSchema = z.object({ id: z.string().openapi({ format: 'uuid' }) }).openapi('Published');
export const PublishedBatchSchema = z.object({ ids: z.array(z.string()) }).openapi('PublishedBatch');
