import { z } from '@hono/zod-openapi';
import type { Limits } from '../config.ts';
import { checkDelivery, publishFields } from '../messages/messages.schemas.ts';
import { OutgoingMessageSchema } from '../messages/outgoing-message.ts';

export const REQUEST_TIMEOUT_DEFAULT_SECONDS = 30;
export const REQUEST_TIMEOUT_MAX_SECONDS = 60;

export function createRequestSchema(limits: Limits) {
  return z
    .strictObject({
      ...publishFields(limits),
      timeout_seconds: z.number().min(0.1).max(REQUEST_TIMEOUT_MAX_SECONDS).default(REQUEST_TIMEOUT_DEFAULT_SECONDS)
        .openapi({ description: 'how long to wait for the reply' }),
    })
    .superRefine(checkDelivery)
    .openapi('Request', {
      description: 'A message like POST /v1/messages takes; correlation_id defaults to a new id and reply_to to the caller\'s user:<name>.',
    });
}

export type RequestInput = z.infer<ReturnType<typeof createRequestSchema>>;

export const ReplySchema = z
  .object({
    request_id: z.string().openapi({ description: 'the id of the request message' }),
    correlation_id: z.string(),
    reply: OutgoingMessageSchema,
  })
  .openapi('Reply');
