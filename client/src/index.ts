// @switchyard/client: publish to and consume from a Switchyard service, over WebSocket, SSE or
// long poll, in Node 22+ and browsers. See README.md.
export { SwitchyardClient, type CallOptions, type ClientOptions, type PublishOptions } from './client.ts';
export { Consumer, type ConsumeOptions, type Delivery, type Handler } from './consumer.ts';
export { SwitchyardError, isRetryable } from './errors.ts';
export type { TokenSource } from './http.ts';
export type { RetryOptions } from './backoff.ts';
export type * from './types.ts';
