// The inbox as Server-Sent Events (GET /v1/inbox/stream). In Node the `eventsource` package sends
// the token in the Authorization header; a browser's EventSource cannot, so there the token goes
// in the access_token query parameter (the service documents it as the weaker option). The
// EventSource's own reconnect is off: the consumer reconnects, with the last event id.
import type { HttpApi } from '../http.ts';
import { opening, TransportBlocked, type Transport } from './transport.ts';

const OPEN_TIMEOUT_MS = 10_000;

interface EventSourceLike extends EventTarget {
  readonly readyState: number;
  close(): void;
}

const inBrowser = () => typeof (globalThis as { document?: unknown }).document !== 'undefined';

export const sseTransport: Transport = async (api, request, signal) => {
  const token = await api.token();
  const query = new URLSearchParams({ ack: request.ack, visibility: String(request.visibility), prefetch: String(request.prefetch) });
  if (request.lastEventId !== undefined) query.set('last_event_id', request.lastEventId);
  let source: EventSourceLike;
  if (inBrowser() && globalThis.EventSource !== undefined) {
    query.set('access_token', token);
    source = new globalThis.EventSource(`${api.baseUrl}/v1/inbox/stream?${query}`) as EventSourceLike;
  } else {
    const { EventSource } = await import('eventsource');
    source = new EventSource(`${api.baseUrl}/v1/inbox/stream?${query}`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } }),
    }) as unknown as EventSourceLike;
  }
  let closedReason: string | undefined;
  let opened = false;
  let finish!: (reason: string) => void;
  const ended = new Promise<string>((resolve) => (finish = resolve));
  const close = () => {
    source.close();
    finish(closedReason ?? 'closed');
  };
  source.addEventListener('message', (event) => {
    const e = event as MessageEvent;
    request.onMessage(JSON.parse(String(e.data)), e.lastEventId || undefined);
  });
  source.addEventListener('closed', (event) => {
    closedReason = (JSON.parse(String((event as MessageEvent).data)) as { code: string }).code;
  });
  signal.addEventListener('abort', close, { once: true });
  await opening(api, signal, new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TransportBlocked('the event stream did not open in time')), OPEN_TIMEOUT_MS);
    source.addEventListener('open', () => {
      opened = true;
      clearTimeout(timer);
      resolve();
    }, { once: true });
    source.addEventListener('error', (event) => {
      clearTimeout(timer);
      const code = (event as { code?: number }).code;
      source.close();
      // An EventSource shows no problem body: whether the token or the path was refused, HTTP tells.
      if (!opened) reject(new TransportBlocked(`the event stream failed to open${code ? ` (${code})` : ''}`));
      finish(closedReason ?? 'the event stream ended');
    });
  }));
  return { ended, close };
};
