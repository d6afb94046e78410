// What every transport gives the consumer: it opens (or refuses to), hands each message over with
// its event id, says why it ended, and may carry acks itself (the WebSocket does).
import type { HttpApi } from '../http.ts';
import type { SettleChannel } from '../settler.ts';
import type { InboxMessage } from '../types.ts';

export interface StreamRequest {
  /** Resume point: the event id of the last message the previous stream delivered. */
  lastEventId: string | undefined;
  prefetch: number;
  visibility: number;
  ack: 'manual' | 'auto';
  onMessage(message: InboxMessage, eventId: string | undefined): void;
  /** How many more messages the consumer can take now (long poll asks; streams have prefetch). */
  room(): number;
  /** Resolves when room() may have grown. */
  waitForRoom(signal: AbortSignal): Promise<void>;
}

export interface TransportSession {
  /** Resolves with why the transport ended: a close code of the service (TokenInvalid, SlowConsumer, ...) or a description. */
  ended: Promise<string>;
  /** Acks, nacks and extends over this transport while it is open. */
  settle?: SettleChannel;
  close(): void;
}

/** Opens a transport; rejects with TransportBlocked when it cannot be used here, or the service's problem. */
export type Transport = (api: HttpApi, request: StreamRequest, signal: AbortSignal) => Promise<TransportSession>;

/** The transport could not be opened for a reason another transport may not have (a proxy, no WebSocket). */
export class TransportBlocked extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportBlocked';
  }
}

/**
 * Waits for a transport to open. A WebSocket or EventSource that fails shows no status or problem
 * body, so a refused token and a blocked path look alike: on failure HTTP is asked who we are, and
 * a refused token rejects with the service's problem (401), anything else stays TransportBlocked.
 */
export async function opening(api: HttpApi, signal: AbortSignal, open: Promise<void>): Promise<void> {
  try {
    await open;
  } catch (error) {
    if (error instanceof TransportBlocked && !signal.aborted) await api.call('GET', '/v1/clients/me', undefined, { signal, retry: false });
    throw error;
  }
}
