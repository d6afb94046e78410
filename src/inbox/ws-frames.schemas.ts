// The WebSocket protocol (subprotocol switchyard.v1): JSON text frames, one object each, told
// apart by `type`. Client frames that want an answer carry an `id` of the client's choosing; the
// server's `result` frame repeats it. The bodies of ack, nack, extend and publish are those of the
// HTTP routes, and so are their answers, so one client library serves both transports.
import { z } from '@hono/zod-openapi';
import type { Limits } from '../config.ts';
import { ProblemSchema } from '../http/problem.ts';
import { IDEMPOTENCY_KEY_MAX } from '../idempotency/idempotency.schemas.ts';
import { createMessageSchemas, PublishedBatchSchema, PublishedSchema } from '../messages/messages.schemas.ts';
import { SSE_PREFETCH_DEFAULT, VISIBILITY_DEFAULT_SECONDS } from '../config.ts';
import {
  AckedSchema, AckSchema, ExtendedSchema, ExtendSchema, InboxMessageSchema, NackedSchema, NackSchema, PREFETCH_MAX, StreamQuery,
  VISIBILITY_MAX_SECONDS,
} from './inbox.schemas.ts';

export const WS_SUBPROTOCOL = 'switchyard.v1';

/** Close codes, besides 1000 (closed by the client) and 1009 (a frame over the hard size limit). */
export const WS_CLOSE_CODES = {
  /** The service is shutting down: reconnect (to another replica). */
  ShuttingDown: 1001,
  /** The token was revoked or rotated: reconnecting with it fails. */
  TokenInvalid: 4401,
  /** The socket was not read for longer than the write timeout; its leases went back to the queue. */
  SlowConsumer: 4429,
  /** PostgreSQL cannot be reached: reconnect after a moment (1013 is the standard "try again later"). */
  DatabaseUnavailable: 1013,
  /** An unexpected server error. */
  InternalError: 1011,
} as const;
export type WsCloseCode = keyof typeof WS_CLOSE_CODES;

const RequestId = z.string().min(1).max(64).openapi({ description: 'chosen by the client; the result frame repeats it' });

export const HelloFrameSchema = z.strictObject({
  type: z.literal('hello'),
  id: RequestId.optional(),
  last_event_id: StreamQuery.shape.last_event_id,
  prefetch: z.number().int().min(1).max(PREFETCH_MAX).default(SSE_PREFETCH_DEFAULT),
  visibility: z.number().int().min(0).max(VISIBILITY_MAX_SECONDS).default(VISIBILITY_DEFAULT_SECONDS),
  ack: StreamQuery.shape.ack,
}).openapi('WsHello', { description: 'Starts the stream of message frames; at most once per socket. Defaults as on GET /v1/inbox/stream.' });

export const AckFrameSchema = z.strictObject({ type: z.literal('ack'), id: RequestId, receipts: AckSchema.shape.receipts }).openapi('WsAck');
export const NackFrameSchema = z.strictObject({
  type: z.literal('nack'), id: RequestId, receipts: NackSchema.shape.receipts,
  delay_seconds: NackSchema.shape.delay_seconds, reason: NackSchema.shape.reason,
}).openapi('WsNack');
export const ExtendFrameSchema = z.strictObject({
  type: z.literal('extend'), id: RequestId, receipts: ExtendSchema.shape.receipts, visibility: ExtendSchema.shape.visibility,
}).openapi('WsExtend');
export const PingFrameSchema = z.strictObject({ type: z.literal('ping'), id: RequestId.optional() }).openapi('WsPing');

const IdempotencyKey = z.string().regex(/^[\x20-\x7e]+$/, 'printable ASCII').max(IDEMPOTENCY_KEY_MAX).optional()
  .openapi({ description: 'as the Idempotency-Key header of POST /v1/messages; the same key means the same publish on either transport' });

/** A publish frame before its message(s) are checked: those get the HTTP route's own schema, so errors name the same fields. */
export const PublishEnvelopeSchema = z.strictObject({
  type: z.literal('publish'), id: RequestId, idempotency_key: IdempotencyKey, message: z.unknown().optional(), messages: z.unknown().optional(),
});

/** The full client frame schemas, for the OpenAPI document (and anyone validating frames). */
export function createClientFrameSchemas(limits: Limits) {
  const { PublishSchema, PublishBatchSchema } = createMessageSchemas(limits);
  const PublishFrameSchema = z.strictObject({
    type: z.literal('publish'), id: RequestId, idempotency_key: IdempotencyKey,
    message: PublishSchema.optional().openapi({ description: 'one message, as the body of POST /v1/messages' }),
    messages: PublishBatchSchema.shape.messages.optional().openapi({ description: 'or a batch, as POST /v1/messages/batch' }),
  }).openapi('WsPublish');
  return z.union([HelloFrameSchema, AckFrameSchema, NackFrameSchema, ExtendFrameSchema, PublishFrameSchema, PingFrameSchema])
    .openapi('WsClientFrame', { description: 'A frame the client sends (JSON text)' });
}

/** Every client frame but publish, whose messages are checked apart (see PublishEnvelopeSchema). */
export const ClientFrameSchema = z.discriminatedUnion('type', [
  HelloFrameSchema, AckFrameSchema, NackFrameSchema, ExtendFrameSchema, PingFrameSchema, PublishEnvelopeSchema,
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

export const MessageFrameSchema = z.object({
  type: z.literal('message'),
  event_id: z.string().openapi({ description: '<stream>:<seq>, as the SSE id: send it as last_event_id in the next hello to resume' }),
  message: InboxMessageSchema,
}).openapi('WsMessage');

export const ResultFrameSchema = z.object({
  type: z.literal('result'),
  id: RequestId,
  result: z.union([z.object({ stream: z.literal('started') }), AckedSchema, NackedSchema, ExtendedSchema, PublishedSchema, PublishedBatchSchema]).optional()
    .openapi({ description: 'the answer the HTTP route would give (hello: {stream: "started"})' }),
  problem: ProblemSchema.optional().openapi({ description: 'or the problem it would answer with' }),
}).openapi('WsResult');

export const PongFrameSchema = z.object({ type: z.literal('pong'), id: RequestId.optional() }).openapi('WsPong');

export const ErrorFrameSchema = z.object({
  type: z.literal('error'),
  id: RequestId.optional().openapi({ description: 'when the frame that caused it had one' }),
  problem: ProblemSchema,
}).openapi('WsError', { description: 'A frame that was not understood (malformed, unknown type, too large, over the rate limit); the socket stays open' });

export const ClosedFrameSchema = z.object({
  type: z.literal('closed'),
  code: z.enum(Object.keys(WS_CLOSE_CODES) as [WsCloseCode, ...WsCloseCode[]]),
  detail: z.string(),
}).openapi('WsClosed', { description: 'The last frame: why the server closes the socket (the close code says the same)' });

export const ServerFrameSchema = z.union([MessageFrameSchema, ResultFrameSchema, PongFrameSchema, ErrorFrameSchema, ClosedFrameSchema])
  .openapi('WsServerFrame', { description: 'A frame the server sends (JSON text)' });
