// The shapes the service speaks (see the service's OpenAPI document), as the client hands them out.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A message to publish: the body of POST /v1/messages. */
export interface OutgoingMessage<T = Json> {
  to: string;
  payload: T;
  type?: string;
  headers?: Record<string, string>;
  priority?: number;
  delay_seconds?: number;
  deliver_at?: string;
  ttl_seconds?: number;
  group_id?: string;
  dedup_id?: string;
  correlation_id?: string;
  reply_to?: string;
}

/** A message as received from the inbox, on any transport. */
export interface InboxMessage<T = Json> {
  id: string;
  receipt: string;
  from: string;
  to: string;
  type: string | null;
  payload: T;
  headers: Record<string, string>;
  priority: number;
  receive_count: number;
  sent_at: string;
  group_id: string | null;
  correlation_id: string | null;
  reply_to: string | null;
}

export interface Published {
  id: string;
  duplicate?: true;
}

export interface PublishedBatch {
  ids: string[];
  duplicates?: number[];
}

export interface Acked {
  acked: number;
  not_acked: string[];
}

export interface Nacked {
  nacked: number;
  dead_lettered: string[];
  not_nacked: string[];
}

export interface Extended {
  extended: number;
  not_extended: string[];
}

export interface Reply<T = Json> {
  request_id: string;
  correlation_id: string;
  reply: { id: string; from: string; to: string; type: string | null; payload: T; headers: Record<string, string>; sent_at: string };
}

/** An RFC 9457 problem, as the service answers errors. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id?: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

export type TransportName = 'ws' | 'sse' | 'poll';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What a `state` listener gets: the new state, the transport, and why (for reconnecting and closed). */
export interface StateChange {
  state: ConnectionState;
  transport: TransportName;
  reason?: string;
}
