import { z } from '@hono/zod-openapi';
import { LONG_POLL_MAX_WAIT_SECONDS, SSE_PREFETCH_DEFAULT, VISIBILITY_DEFAULT_SECONDS } from '../config.ts';
import { ClientIdSchema } from '../clients/clients.schemas.ts';
import { JsonValueSchema } from '../http/openapi.ts';
import { ConversationFields, OutgoingMessageSchema } from '../messages/outgoing-message.ts';
import { storableText, storableTime } from '../http/sql-values.schemas.ts';

export const RECEIVE_MAX = 100;
export const VISIBILITY_MAX_SECONDS = 12 * 3600;
export const RECEIPTS_MAX = 100;
export const PREFETCH_MAX = 1000;

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
    .openapi({ description: 'auto: messages are deleted as they are sent (at most once, for dashboards); only with the token in the Authorization header (400 AutoAckNeedsAuthorizationHeader otherwise)' }),
  visibility: ReceiveQuery.shape.visibility,
  prefetch: z.coerce.number().int().min(1).max(PREFETCH_MAX).default(SSE_PREFETCH_DEFAULT),
  last_event_id: z.string().max(100).optional().openapi({ description: 'resume point, when the Last-Event-ID header cannot be sent' }),
  access_token: z.string().max(512).optional().openapi({ description: 'the token, for EventSource (weaker than the header)' }),
});

export const InboxMessageSchema = OutgoingMessageSchema
  .extend({
    receipt: z.string().openapi({ description: 'acks this delivery; valid until the message is received again' }),
    priority: z.number().int(),
    receive_count: z.number().int(),
    group_id: z.string().nullable(),
    ...ConversationFields,
    via: z.string().optional().openapi({ description: 'the routing rule that brought this copy; absent when the client listens to the address itself' }),
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

const Receipts = z.array(z.string().regex(RECEIPT_PATTERN, 'not a receipt')).min(1).max(RECEIPTS_MAX);

export const NackSchema = z
  .strictObject({
    receipts: Receipts,
    delay_seconds: z.number().int().min(0).max(VISIBILITY_MAX_SECONDS).optional()
      .openapi({ description: 'visible again after this long; default: exponential backoff with jitter' }),
    reason: storableText(z.string().max(1000)).optional().openapi({ description: 'kept as the last error, shown in dead letters' }),
  })
  .openapi('Nack');

export const NackedSchema = z
  .object({
    nacked: z.number().int(),
    dead_lettered: z.array(z.string()).openapi({ description: 'message ids that used up their receives and went to dead letters' }),
    not_nacked: z.array(z.string()),
  })
  .openapi('Nacked');

export const ExtendSchema = z
  .strictObject({ receipts: Receipts, visibility: z.number().int().min(0).max(VISIBILITY_MAX_SECONDS) })
  .openapi('Extend');

export const ExtendedSchema = z
  .object({ extended: z.number().int(), not_extended: z.array(z.string()) })
  .openapi('Extended');

export const DeadLetterSchema = z
  .object({
    id: z.string().openapi({ description: 'the original message id' }),
    client_id: z.string(),
    client_name: z.string(),
    from: z.string().nullable(),
    to: z.string().nullable(),
    type: z.string().nullable(),
    payload: JsonValueSchema,
    headers: z.record(z.string(), z.string()),
    sent_at: z.string().nullable(),
    priority: z.number().int(),
    group_id: z.string().nullable(),
    reason: z.enum(['max_receives', 'overflow']),
    receive_count: z.number().int(),
    first_received_at: z.string().nullable(),
    last_received_at: z.string().nullable(),
    last_error: z.string().nullable(),
    dead_at: z.string(),
  })
  .openapi('DeadLetter');

export const DeadLetterPageSchema = z
  .object({
    dead_letters: z.array(DeadLetterSchema),
    next_before: z.string().nullable().openapi({ description: 'pass as before= for older ones; null on the last page' }),
  })
  .openapi('DeadLetterPage');

/** A page's next_before: where it ended, dead_at to the microsecond, then the client and message ids. */
export const DEAD_LETTER_CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)~(\d{1,19})~([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

const BIGINT_MAX = 2n ** 63n - 1n;
const StorableTime = storableTime();

/** A next_before whose time and client id PostgreSQL can parse, not only shaped like one. */
function isDeadLetterCursor(value: string): boolean {
  const parts = DEAD_LETTER_CURSOR.exec(value);
  return parts !== null && StorableTime.safeParse(parts[1]).success && BigInt(parts[2]!) <= BIGINT_MAX;
}

export const DeadLetterQuery = z.object({
  error: storableText(z.string().max(200)).optional().openapi({ description: 'text found in the last error' }),
  since: storableTime().optional(),
  until: storableTime().optional(),
  before: z.union([storableTime(), z.string().refine(isDeadLetterCursor, 'not a page cursor')]).optional()
    .openapi({ description: 'the next_before of the page before, or a time: only dead letters from before it' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const AdminDeadLetterQuery = DeadLetterQuery.extend({
  client_id: ClientIdSchema.optional(),
});

export const REDRIVE_BATCH_MAX = 10_000;

export const RedriveSchema = z
  .strictObject({
    error: storableText(z.string().max(200)).optional(),
    since: storableTime().optional(),
    until: storableTime().optional(),
    batch_size: z.number().int().min(1).max(REDRIVE_BATCH_MAX).default(1000),
    max_batches: z.number().int().min(1).max(100_000).default(1000).openapi({ description: 'stop after this many batches; call again to go on' }),
    max_seconds: z.number().min(0.1).max(60).default(10).openapi({ description: 'stop after the batch that passes this; call again to go on' }),
  })
  .openapi('DeadLetterFilter');

export const AdminRedriveSchema = RedriveSchema.extend({
  client_id: ClientIdSchema.optional(),
}).openapi('AdminDeadLetterFilter');

export const RedrivenSchema = z
  .object({
    moved: z.number().int(),
    batches: z.number().int(),
    remaining: z.number().int().openapi({ description: 'matching dead letters still there' }),
    done: z.boolean(),
  })
  .openapi('Redriven');

/** An optional ISO date-time from a validated query or body, as a Date. */
export const toDate = (value: string | undefined) => (value === undefined ? undefined : new Date(value));

const orDefault = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

export const QueuePolicySchema = z
  .strictObject({
    max_receives: orDefault(z.number().int().min(1).max(1000)).openapi({ description: 'receives before a message goes to dead letters' }),
    backoff_base_seconds: orDefault(z.number().min(0).max(43_200)).openapi({ description: 'first nack backoff' }),
    backoff_cap_seconds: orDefault(z.number().min(0).max(43_200)).openapi({ description: 'longest nack backoff' }),
    max_length: orDefault(z.number().int().min(1).max(1_000_000_000)).openapi({ description: 'messages the queue may hold' }),
    overflow: orDefault(z.enum(['reject', 'dead_letter'])).openapi({ description: 'when full: refuse publishes (429) or dead-letter the oldest' }),
    delivery_rate: orDefault(z.number().positive().max(1_000_000)).openapi({ description: 'messages per second handed out at most' }),
    delivery_burst: orDefault(z.number().int().min(1).max(1_000_000)).openapi({ description: 'messages handed out at once at most (default: one second of the rate)' }),
  })
  .openapi('QueuePolicy', { description: 'absent or null: the service default' });

const EffectivePolicySchema = z.object({
  max_receives: z.number(),
  backoff_base_seconds: z.number(),
  backoff_cap_seconds: z.number(),
  max_length: z.number(),
  overflow: z.enum(['reject', 'dead_letter']),
  delivery_rate: z.number().nullable(),
  delivery_burst: z.number().nullable(),
});

export const QueuePolicyViewSchema = z
  .object({ client_id: z.string(), policy: QueuePolicySchema, effective: EffectivePolicySchema })
  .openapi('QueuePolicyView');
