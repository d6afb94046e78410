import { z } from '@hono/zod-openapi';
import type { Limits } from '../config.ts';
import { findJsonProblem, jsonByteLength, NON_FINITE_NUMBER_MESSAGE, UNSTORABLE_TEXT_MESSAGE } from '../http/json-value.ts';
import { isRecord, limitRefinement } from '../http/problem.ts';
import { storableText as storable, storableTime } from '../http/sql-values.schemas.ts';
import { addressSchema } from '../addresses/address.ts';

/** The longest delay (delay_seconds, deliver_at): 365 days, as switchyard.publish() allows too. */
export const DELAY_MAX_SECONDS = 365 * 24 * 3600;
export const TTL_MAX_SECONDS = 14 * 24 * 3600;
const TOKEN_MAX = 128;

const Token = storable(z.string().min(1).max(TOKEN_MAX));

/**
 * The payload is any JSON value, checked without recursion first (depth, text PostgreSQL refuses),
 * then measured: z.json() would walk it recursively and overflow the stack on a deep one.
 */
function payloadSchema(limits: Limits) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (value === undefined) {
        ctx.addIssue({ code: 'custom', message: 'Invalid input: expected a JSON value, received undefined' });
        return;
      }
      const problem = findJsonProblem(value, limits.payloadDepth);
      if (problem?.kind === 'depth') {
        ctx.addIssue({ code: 'custom', path: problem.path, message: `nested deeper than ${limits.payloadDepth} levels`, params: { code: 'PayloadTooDeep' } });
      } else if (problem?.kind === 'text') {
        ctx.addIssue({ code: 'custom', path: problem.path, message: UNSTORABLE_TEXT_MESSAGE });
      } else if (problem?.kind === 'number') {
        ctx.addIssue({ code: 'custom', path: problem.path, message: NON_FINITE_NUMBER_MESSAGE });
      } else if (jsonByteLength(value) > limits.payloadBytes) {
        ctx.addIssue({ code: 'custom', message: `larger than ${limits.payloadBytes} bytes as compact JSON`, params: { code: 'MessagePayloadTooLarge' } });
      }
    })
    .openapi({
      description: `any JSON value, at most ${limits.payloadBytes} bytes as compact JSON and ${limits.payloadDepth} levels deep`,
      example: { text: 'hello' },
    });
}

function headersSchema(limits: Limits) {
  return z
    .record(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a header name is 1-64 letters, digits and _ . -'),
      storable(z.string().max(1024)),
    )
    .refine(
      (headers) => Object.keys(headers).length <= limits.headers,
      limitRefinement('TooManyHeaders', `at most ${limits.headers} headers`, isRecord),
    )
    .openapi({ example: { 'trace-id': 'abc123' }, maxProperties: limits.headers });
}

/** The fields of a message to publish, for these limits (SWITCHYARD_MAX_*). */
export function publishFields(limits: Limits) {
  const Address = addressSchema(limits.addressLength);
  return {
    to: Address,
    type: Token.optional().openapi({ example: 'chat.message' }),
    payload: payloadSchema(limits),
    headers: headersSchema(limits).optional(),
    priority: z.number().int().min(0).max(9).optional().openapi({ description: '0 (default) to 9' }),
    delay_seconds: z.number().int().min(0).max(DELAY_MAX_SECONDS).optional(),
    deliver_at: storableTime().optional()
      .openapi({ description: `deliver at this time instead of at once; at most ${DELAY_MAX_SECONDS} s ahead; a past time means now` }),
    ttl_seconds: z.number().int().min(1).max(TTL_MAX_SECONDS).optional(),
    group_id: Token.optional().openapi({ description: 'messages of one group are delivered in order, one at a time' }),
    dedup_id: Token.optional().openapi({ description: 'a repeat from the same sender within the deduplication window is not published again; the answer carries the first id' }),
    correlation_id: Token.optional(),
    reply_to: Address.optional(),
  };
}

/** deliver_at and delay_seconds exclude each other, and deliver_at is at most DELAY_MAX_SECONDS ahead. */
export function checkDelivery(message: { deliver_at?: string | undefined; delay_seconds?: number | undefined }, ctx: z.RefinementCtx): void {
  if (message.deliver_at === undefined) return;
  if (message.delay_seconds !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['deliver_at'], message: 'give delay_seconds or deliver_at, not both' });
  } else if (Date.parse(message.deliver_at) > Date.now() + DELAY_MAX_SECONDS * 1000) {
    ctx.addIssue({ code: 'custom', path: ['deliver_at'], message: `at most ${DELAY_MAX_SECONDS} seconds ahead` });
  }
}

/** The publish schemas for these limits (SWITCHYARD_MAX_*). */
export function createMessageSchemas(limits: Limits) {
  const PublishSchema = z.strictObject(publishFields(limits)).superRefine(checkDelivery).openapi('PublishMessage');

  const PublishBatchSchema = z
    .strictObject({
      messages: z
        .array(PublishSchema)
        .min(1)
        .refine(
          (messages) => messages.length <= limits.batchMessages,
          limitRefinement('BatchTooLarge', `at most ${limits.batchMessages} messages`, Array.isArray),
        )
        .openapi({ maxItems: limits.batchMessages }),
    })
    .openapi('PublishBatch');

  return { PublishSchema, PublishBatchSchema };
}

export type PublishInput = z.infer<ReturnType<typeof createMessageSchemas>['PublishSchema']>;

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
