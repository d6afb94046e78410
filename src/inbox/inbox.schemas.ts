import { z } from '@hono/zod-openapi';
import { LONG_POLL_MAX_WAIT_SECONDS, SSE_PREFETCH_DEFAULT, VISIBILITY_DEFAULT_SECONDS } from '../config.ts';
import { JsonValueSchema } from '../http/openapi.ts';

export const RECEIVE_MAX = 100;
export const VISIBILITY_MAX_SECONDS = 12 * 3600;
export const RECEIPTS_MAX = 100;

/** A receipt names one delivery of one message: <message id>.<receive count>. */
export const RECEIPT_PATTERN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([1-9][0-9]{0,8})$/;

export const ReceiveQuery = z.object({
  wait: z.coerce.number().int().min(0).max(LONG_POLL_MAX_WAIT_SECONDS).default(0)
    .openapi({ description: `seconds to wait for a message when none is visible (0-${LONG_POLL_MAX_WAIT_SECONDS})` }),
  max: z.coerce.number().int().min(1).max(RECEIVE_MAX).default(10),
  visibility: z.coerce.number().int().min(0).max(VISIBILITY_MAX_SECONDS).default(VISIBILITY_DEFAULT_SECONDS)
    .openapi({ description: 'seconds the received messages stay invisible to other receivers unless acked' }),
});

export const StreamQuery = z.object({
  ack: z.enum(['manual', 'auto']).default('manual')
    .openapi({ description: 'auto: messages are deleted as they are sent (at most once, for dashboards)' }),
  visibility: ReceiveQuery.shape.visibility,
  prefetch: z.coerce.number().int().min(1).max(1000).default(SSE_PREFETCH_DEFAULT),
  last_event_id: z.string().max(100).optional().openapi({ description: 'resume point, when the Last-Event-ID header cannot be sent' }),
  access_token: z.string().max(512).optional().openapi({ description: 'the token, for EventSource (weaker than the header)' }),
});

export const InboxMessageSchema = z
  .object({
    id: z.string().openapi({ format: 'uuid', description: 'the same in every copy: deduplicate on it' }),
    receipt: z.string().openapi({ description: 'acks this delivery; valid until the message is received again' }),
    from: z.string(),
    to: z.string(),
    type: z.string().nullable(),
    payload: JsonValueSchema,
    headers: z.record(z.string(), z.string()),
    priority: z.number().int(),
    receive_count: z.number().int(),
    sent_at: z.string(),
    group_id: z.string().nullable(),
    correlation_id: z.string().nullable(),
    reply_to: z.string().nullable(),
  })
  .openapi('InboxMessage');

export type InboxMessage = z.infer<typeof InboxMessageSchema>;

export const ReceivedSchema = z.object({ messages: z.array(InboxMessageSchema) }).openapi('Received');

export const AckSchema = z
  .strictObject({
    receipts: z.array(z.string().regex(RECEIPT_PATTERN, 'not a receipt')).min(1).max(RECEIPTS_MAX),
  })
  .openapi('Ack');

export const AckedSchema = z
  .object({
    acked: z.number().int(),
    not_acked: z.array(z.string()).openapi({ description: 'receipts that matched no current delivery: already acked, or received again since' }),
  })
  .openapi('Acked');
