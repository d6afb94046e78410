// The inbox over a WebSocket (GET /v1/inbox/ws): the token rides in a bearer.<token> subprotocol
// (browsers cannot set headers on a WebSocket), hello starts the stream, and acks, nacks and
// extends travel as frames on the same socket.
import { SwitchyardError } from '../errors.ts';
import type { HttpApi } from '../http.ts';
import type { SettleBody, SettleKind } from '../settler.ts';
import type { Acked, Extended, Nacked, Problem } from '../types.ts';
import { opening, TransportBlocked, type Transport } from './transport.ts';

const SUBPROTOCOL = 'switchyard.v1';
/** How long the upgrade and the hello may take before the WebSocket counts as blocked. */
const OPEN_TIMEOUT_MS = 10_000;

export const wsTransport: Transport = async (api, request, signal) => {
  const WebSocketImpl = globalThis.WebSocket;
  if (WebSocketImpl === undefined) throw new TransportBlocked('this platform has no WebSocket');
  const token = await api.token();
  const url = `${api.baseUrl.replace(/^http/, 'ws')}/v1/inbox/ws`;
  const socket = new WebSocketImpl(url, [SUBPROTOCOL, `bearer.${token}`]);
  const pending = new Map<string, { resolve: (value: any) => void; reject: (error: unknown) => void }>();
  let requests = 0;
  let closedReason: string | undefined;

  const ended = new Promise<string>((resolve) => {
    socket.addEventListener('close', (event) => {
      const error = new SwitchyardError(0, 'NetworkError', 'the WebSocket closed before the answer came');
      for (const p of pending.values()) p.reject(error);
      pending.clear();
      resolve(closedReason ?? `WebSocket closed (${event.code})`);
    });
  });
  socket.addEventListener('message', (event) => {
    let frame: any;
    try {
      frame = JSON.parse(String(event.data));
    } catch {
      return;
    }
    if (frame.type === 'message') request.onMessage(frame.message, frame.event_id);
    else if (frame.type === 'closed') closedReason = frame.code;
    else if ((frame.type === 'result' || frame.type === 'error') && pending.has(frame.id)) {
      const p = pending.get(frame.id)!;
      pending.delete(frame.id);
      if (frame.problem) p.reject(SwitchyardError.fromProblem(frame.problem as Problem));
      else p.resolve(frame.result);
    }
  });
  const send = <T>(frame: Record<string, unknown>): Promise<T> => new Promise((resolve, reject) => {
    if (socket.readyState !== WebSocketImpl.OPEN) return reject(new SwitchyardError(0, 'NetworkError', 'the WebSocket is not open'));
    const id = `c${++requests}`;
    pending.set(id, { resolve, reject });
    socket.send(JSON.stringify({ ...frame, id }));
  });

  const close = () => {
    if (socket.readyState === WebSocketImpl.CONNECTING || socket.readyState === WebSocketImpl.OPEN) socket.close(1000);
  };
  signal.addEventListener('abort', close, { once: true });
  try {
    await opening(api, signal, new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TransportBlocked('the WebSocket did not open in time')), OPEN_TIMEOUT_MS);
      socket.addEventListener('open', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
      void ended.then(() => {
        clearTimeout(timer);
        reject(new TransportBlocked('the WebSocket upgrade failed'));
      });
    }));
    await send({
      type: 'hello', prefetch: request.prefetch, visibility: request.visibility, ack: request.ack,
      ...(request.lastEventId === undefined ? {} : { last_event_id: request.lastEventId }),
    });
  } catch (error) {
    close();
    throw error;
  }
  return {
    ended,
    settle: (kind: SettleKind, body: SettleBody) => send<Acked | Nacked | Extended>({ type: kind, ...body }),
    close,
  };
};
