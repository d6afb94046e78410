// The shape of a message as the service hands it out, written once. Every route and transport that
// returns messages (the inbox's long poll, its SSE and WebSocket streams, webhooks, history, the
// reply to a request) sends these fields, named the same and made by the same mapper; each adds
// only what belongs to it (a receipt and receive count for a delivery, a label for history).
import { z } from '@hono/zod-openapi';
import { JsonValueSchema } from '../http/openapi.ts';

export const OutgoingMessageSchema = z
  .object({
    id: z.string().openapi({ format: 'uuid', description: 'the same in every copy: deduplicate on it' }),
    from: z.string(),
    to: z.string(),
    type: z.string().nullable(),
    payload: JsonValueSchema,
    headers: z.record(z.string(), z.string()),
    sent_at: z.string(),
  })
  .openapi('OutgoingMessage');

export type OutgoingMessage = z.infer<typeof OutgoingMessageSchema>;

/** The request/reply fields, on the messages that may ask for an answer (not on the answer itself). */
export const ConversationFields = {
  correlation_id: z.string().nullable(),
  reply_to: z.string().nullable(),
};

/** The log's columns an outgoing message is made of, as the repositories read them. */
export interface OutgoingMessageRow {
  id: string;
  sender: string;
  to_address: string;
  type: string | null;
  payload: unknown;
  headers: Record<string, string> | null;
}

/** `sentAt`: the message's created_at, as a Date or in epoch milliseconds (the inbox reads a number). */
export function toOutgoingMessage(row: OutgoingMessageRow, sentAt: Date | number): OutgoingMessage {
  return {
    id: row.id,
    from: row.sender,
    to: row.to_address,
    type: row.type,
    payload: row.payload,
    headers: row.headers ?? {},
    sent_at: new Date(sentAt).toISOString(),
  };
}
