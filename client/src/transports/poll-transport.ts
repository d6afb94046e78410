// The inbox by long poll (GET /v1/inbox?wait=): the transport that passes every proxy. It asks
// for no more than the consumer has room for, so prefetch holds here too.
import type { HttpApi } from '../http.ts';
import type { InboxMessage } from '../types.ts';
import type { Transport } from './transport.ts';

/** Seconds one poll waits for a message: the service's maximum. */
const POLL_WAIT_SECONDS = 20;
const RECEIVE_MAX = 100;

export const pollTransport: Transport = async (api, request, signal) => {
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const receive = (wait: number, max: number) => api.call<{ messages: InboxMessage[] }>(
    'GET', `/v1/inbox?wait=${wait}&max=${max}&visibility=${request.visibility}`, undefined, { signal: both, retry: false },
  );
  // The first look answers at once: a refused token fails the open, not the loop.
  const first = await receive(0, Math.max(1, Math.min(RECEIVE_MAX, request.room())));
  const ack = request.ack === 'auto' ? (ms: InboxMessage[]) => api.call('POST', '/v1/inbox/ack', { receipts: ms.map((m) => m.receipt) }, { signal: both }) : undefined;
  const deliver = async (messages: InboxMessage[]) => {
    if (ack && messages.length > 0) await ack(messages); // at most once, as the streams' ack=auto
    for (const m of messages) request.onMessage(m, undefined);
  };
  const ended = (async () => {
    try {
      await deliver(first.messages);
      while (!both.aborted) {
        if (request.room() <= 0) {
          await request.waitForRoom(both);
          continue;
        }
        await deliver((await receive(POLL_WAIT_SECONDS, Math.min(RECEIVE_MAX, request.room()))).messages);
      }
      return 'closed';
    } catch (error) {
      return both.aborted ? 'closed' : (error as Error & { code?: string }).code ?? (error as Error).message;
    }
  })();
  return { ended, close: () => stop.abort() };
};
