// GET /v1/inbox/ws: the inbox over a WebSocket (subprotocol switchyard.v1). The upgrade request
// passes the same auth middleware as every client route; the token comes from the Authorization
// header, a bearer.<token> subprotocol, or the cookie from an allowed origin. Frames are described
// in ws-frames.schemas.ts and handled by ws-session.ts.
import { upgradeWebSocket } from '@hono/node-server';
import { createRoute } from '@hono/zod-openapi';
import type { WebSocket } from 'ws';
import { requireClient } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Limits } from '../config.ts';
import { bearer, createRouter } from '../http/openapi.ts';
import { ApiError, problemResponses } from '../http/problem.ts';
import type { Logger } from '../logger.ts';
import { createMessageSchemas } from '../messages/messages.schemas.ts';
import type { Publisher } from '../messages/publisher.ts';
import type { InboxService } from './inbox.service.ts';
import { createClientFrameSchemas, ServerFrameSchema, WS_CLOSE_CODES, WS_SUBPROTOCOL } from './ws-frames.schemas.ts';
import { WsSession } from './ws-session.ts';
import { WsWriter } from './ws-writer.ts';

export interface InboxWsRoutesOptions {
  limits: Limits;
  /** Text frames up to this many bytes are read (the HTTP body limit). */
  frameMaxBytes: number;
  heartbeatMs: number;
  writeTimeoutMs: number;
  /** Origins whose pages may authenticate with the cookie (besides this service's own). */
  corsOrigins: string[];
  shutdown: AbortSignal;
  log: Logger;
}

export function inboxWsRoutes(auth: Authenticator, inbox: InboxService, publisher: Publisher | undefined, o: InboxWsRoutesOptions) {
  const app = createRouter();
  const publishSchemas = createMessageSchemas(o.limits);
  const closeCodes = Object.entries(WS_CLOSE_CODES).map(([name, code]) => `${code} ${name}`).join(', ');
  app.openAPIRegistry.register('WsClientFrame', createClientFrameSchemas(o.limits));
  app.openAPIRegistry.register('WsServerFrame', ServerFrameSchema);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/inbox/ws',
      tags: ['inbox'],
      summary: 'Receive (and ack, nack, extend, publish) over a WebSocket',
      description: `Upgrade with subprotocol \`${WS_SUBPROTOCOL}\`; browsers offer \`bearer.<token>\` beside it (only \`${WS_SUBPROTOCOL}\` is echoed) or send the token cookie from an allowed origin. `
        + 'Frames are JSON text: the client sends WsClientFrame (hello starts the stream), the server WsServerFrame (components). '
        + `Before closing, the server sends a closed frame; close codes: ${closeCodes}, 1009 a frame over twice the body limit. `
        + 'The server pings every SWITCHYARD_WS_PING_MS and terminates sockets that did not answer the previous ping.',
      security: bearer,
      middleware: [requireClient(auth, { websocket: true, corsOrigins: o.corsOrigins })] as const,
      responses: {
        101: { description: 'Switching protocols: the socket speaks WsClientFrame / WsServerFrame' },
        ...problemResponses(401, 403, 426, 429),
      },
    }),
    async (c) => {
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
        throw new ApiError('UpgradeRequired', `connect with a WebSocket (subprotocol ${WS_SUBPROTOCOL}); GET /v1/inbox/stream is the SSE version`);
      }
      const client = c.var.client;
      const stillAuthorized = c.var.reauthenticate;
      const requestId = c.var.requestId;
      let session: WsSession | undefined;
      return upgradeWebSocket(c, {
        onOpen: (_event, ws) => {
          const writer = new WsWriter(ws.raw as WebSocket, o.writeTimeoutMs);
          session = new WsSession(writer, client, stillAuthorized, requestId, {
            inbox, publisher, publishSchemas, rateLimiter: auth.rateLimiter, heartbeatMs: o.heartbeatMs,
            frameMaxBytes: o.frameMaxBytes, shutdown: o.shutdown, log: o.log,
          });
        },
        onMessage: (event) => session?.receive(event.data),
        onClose: () => session?.closed(),
      }, { onError: (error) => o.log.error('websocket handler failed', { error }) });
    },
  );
  return app;
}
