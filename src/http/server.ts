// The HTTP server and its connection limits, set here rather than left to Node's defaults, so
// that slow or idle clients cannot hold sockets for minutes and a flood of connections is refused
// at the door. Long polls (20 s) and requests (up to 60 s) are responses, not requests: the
// request timeouts below end only clients that are slow to *send*.
import { createAdaptorServer, type WebSocketServerLike } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocketServer } from 'ws';
import { answerClientErrors } from './client-error.ts';

/** The request line and headers must arrive within this (Node: 60 s): slowloris clients are cut off. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** The whole request, body included, must arrive within this (Node: 300 s); the body is at most SWITCHYARD_MAX_BODY_BYTES. */
export const REQUEST_TIMEOUT_MS = 30_000;
/**
 * An idle keep-alive connection is closed after this. Longer than the 60 s idle timeout of common
 * load balancers, so that the balancer, not this server, closes first and never sends a request
 * on a socket being closed under it.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/**
 * Connections the kernel queues before accept() (Linux caps it at net.core.somaxconn). Larger
 * than Node's 511 so that a burst of new connections waits a moment instead of being dropped.
 */
export const LISTEN_BACKLOG = 4_096;

export interface ServerLimits {
  /** Beyond this many open connections new ones are closed at once (SWITCHYARD_HTTP_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Takes the upgrades to GET /v1/inbox/ws (created with noServer). */
  webSocketServer?: WebSocketServer;
}

export function listen(fetch: (request: Request) => Response | Promise<Response>, port: number, host: string, limits: ServerLimits): Promise<Server> {
  const websocket = limits.webSocketServer ? { websocket: { server: limits.webSocketServer as unknown as WebSocketServerLike } } : {};
  const server = createAdaptorServer({ fetch, ...websocket }) as Server;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.maxConnections = limits.maxConnections;
  answerClientErrors(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** The URL the server answers on (an IPv6 host in brackets). */
export function serverUrl(server: Server, host: string): string {
  const address = server.address() as AddressInfo;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/** How often connections are checked for having gone idle while the server closes. */
const IDLE_SWEEP_MS = 50;

export interface CloseOptions {
  /** Runs once new connections are refused: finishes what was accepted and ends waits and streams. */
  settle: () => Promise<void>;
  /** After this, every connection left is cut, upgraded WebSockets included. */
  timeoutMs: number;
  webSocketServer?: WebSocketServer;
}

/** Accepts nothing new, lets `settle` finish the work in hand, then closes each connection as its last response ends. */
export async function closeServer(server: Server, o: CloseOptions): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await o.settle();
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  const force = setTimeout(() => {
    server.closeAllConnections();
    for (const socket of o.webSocketServer?.clients ?? []) socket.terminate(); // upgraded sockets are no longer the server's to close
  }, o.timeoutMs);
  server.closeIdleConnections();
  await closed;
  clearInterval(sweep);
  clearTimeout(force);
}
