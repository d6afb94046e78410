// How much long-lived work one client may hold open in this process: event streams, and waits
// (long polls and requests waiting for a reply). Each holds a socket, memory and a share of the
// poller's query; without a cap one token could take them all. Beyond the cap the answer is 429
// with Retry-After at once. Counted per process: with several push replicas behind a balancer a
// client's effective cap is the sum of theirs.
import { ApiError } from '../http/problem.ts';

export type HeldKind = 'stream' | 'wait';

/**
 * A refused client retries after this many seconds: streams and waits end by themselves within
 * a long poll (20 s) or a request timeout (60 s) at most, and a reconnecting EventSource should
 * not hammer the service meanwhile; not a setting because no deployment would pick another value.
 */
const RETRY_AFTER_SECONDS = 5;

export class WaitLimits {
  readonly #max: Record<HeldKind, number>;
  readonly #held: Record<HeldKind, Map<string, number>> = { stream: new Map(), wait: new Map() };

  constructor(max: { streams: number; waits: number }) {
    this.#max = { stream: max.streams, wait: max.waits };
  }

  /** Takes one slot for the client, or throws TooManyStreams / TooManyWaits; call the answer once to give it back. */
  acquire(clientId: string, kind: HeldKind): () => void {
    const held = this.#held[kind];
    const count = held.get(clientId) ?? 0;
    if (count >= this.#max[kind]) {
      const what = kind === 'stream' ? 'event streams' : 'waits (long polls and requests)';
      throw new ApiError(kind === 'stream' ? 'TooManyStreams' : 'TooManyWaits', `this client already holds ${count} ${what} open here, the most allowed; close one or retry later`, {
        headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      });
    }
    held.set(clientId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (held.get(clientId) ?? 1) - 1;
      if (left <= 0) held.delete(clientId);
      else held.set(clientId, left);
    };
  }

  held(clientId: string, kind: HeldKind): number {
    return this.#held[kind].get(clientId) ?? 0;
  }
}
