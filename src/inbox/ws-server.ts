// The WebSocket engine behind GET /v1/inbox/ws: one `ws` server without a port of its own, handed
// to @hono/node-server, which runs the app (auth included) on each upgrade request and completes
// the upgrade only when the route accepts it. It also keeps sockets honest: a ping every interval,
// and a socket that has not answered the previous one (nor sent anything since) is terminated.
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../logger.ts';
import { Worker } from '../queue/worker.ts';
import { WS_SUBPROTOCOL } from './ws-frames.schemas.ts';

export interface WsServerOptions {
  /** Frames over this many bytes close the socket with 1009 (the session answers smaller oversize ones itself). */
  maxPayloadBytes: number;
  pingIntervalMs: number;
}

export function createWsServer(o: WsServerOptions, log: Logger): { wss: WebSocketServer; liveness: Worker } {
  const wss = new WebSocketServer({
    noServer: true,
    // Compression costs each socket about 300 KB of zlib state: idle sockets must stay cheap.
    perMessageDeflate: false,
    maxPayload: o.maxPayloadBytes,
    // Echo only ours: a bearer.<token> subprotocol must never come back in a response header.
    handleProtocols: (offered) => (offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });
  const heard = new WeakSet<WebSocket>();
  wss.on('connection', (ws: WebSocket) => {
    heard.add(ws);
    const alive = () => heard.add(ws);
    ws.on('pong', alive);
    ws.on('message', alive);
  });
  const liveness = new Worker({
    name: 'ws-liveness',
    pollMs: o.pingIntervalMs,
    log,
    runOnce: async () => {
      let terminated = 0;
      for (const ws of wss.clients) {
        if (!heard.has(ws)) {
          ws.terminate();
          terminated += 1;
          continue;
        }
        heard.delete(ws);
        ws.ping();
      }
      return { processed: terminated, more: false };
    },
  });
  return { wss, liveness };
}
