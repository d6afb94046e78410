// Bearer authentication, then the client's rate limit. Tokens come from the Authorization header;
// the SSE stream also takes them from the `access_token` query parameter or the
// `switchyard_token` cookie, because a browser EventSource cannot send headers (weaker: URLs end
// up in logs and history), and the WebSocket upgrade from a `bearer.<token>` subprotocol or the cookie. Tokens are never logged: only their hashes go anywhere. Admin routes
// that the dashboard uses also take its session cookie instead of the token (admin-session.ts).
//
// A cookie is sent by the browser whatever page asks, so a cookie-authenticated request must come
// from this service's own pages or an allowed CORS origin (else any site could open a victim's
// stream). A source address whose made-up tokens have used up SWITCHYARD_AUTH_FAILURES_BURST is
// refused before its next token reaches the database.
import type { IncomingMessage } from 'node:http';
import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { Context } from 'hono';
import { ApiError } from '../http/problem.ts';
import { ADMIN_SESSION_COOKIE } from './admin-session.ts';
import type { Authenticator, Principal } from './authenticator.ts';
import type { ClientRecord } from './client-token.repository.ts';
import { hashToken, looksLikeToken, tokenKey } from './tokens.ts';

export const TOKEN_COOKIE = 'switchyard_token';

/** Where the token came from: only the Authorization header proves the caller chose to send it. */
export type TokenSource = 'header' | 'query' | 'cookie' | 'subprotocol';

// What these middlewares put on the context, typed for every handler (c.var.client) without an
// Env generic on each router or handler.
declare module 'hono' {
  interface ContextVariableMap {
    /** The authenticated client (requireClient). */
    client: ClientRecord;
    /** True while the token that authenticated this request still does (set with client). */
    reauthenticate: () => Promise<boolean>;
    /** Where the client's token came from (set with client): ack=auto on the SSE stream wants the header. */
    tokenSource: TokenSource;
    /** The RateLimit fields of this client's answer (set with client; also on c.res's headers). */
    rateLimitHeaders: Record<string, string>;
    /** Set when the dashboard's admin session (not the token) let this request in (requireAdmin): when it ends, ms since the epoch. */
    adminSessionEndsAt: number;
  }
}

export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';

function bearerToken(c: Context, options: RequireClientOptions): { token: string; source: TokenSource } | undefined {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError('TokenInvalid', 'the Authorization header must be "Bearer <token>"');
    return { token: match[1]!, source: 'header' };
  }
  if (options.websocket) {
    // A browser's WebSocket cannot send headers either: the token rides as a subprotocol offered
    // beside switchyard.v1 (only switchyard.v1 is echoed back), or in the cookie.
    const offered = (c.req.header('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
    const fromProtocol = offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
    if (fromProtocol !== undefined) return { token: fromProtocol.slice(BEARER_SUBPROTOCOL_PREFIX.length), source: 'subprotocol' };
  } else if (options.allowQueryAndCookie) {
    const query = c.req.query('access_token');
    if (query !== undefined) return { token: query, source: 'query' };
  } else {
    return undefined;
  }
  const cookie = getCookie(c, TOKEN_COOKIE);
  return cookie === undefined ? undefined : { token: cookie, source: 'cookie' };
}

/** The address the connection comes from (a proxy's, behind one). */
function sourceAddress(c: Context): string {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.remoteAddress ?? 'unknown';
}

async function principal(
  c: Context, auth: Authenticator, options: RequireClientOptions,
): Promise<{ principal: Principal; tokenHash: Buffer; source: TokenSource }> {
  const given = bearerToken(c, options);
  if (given === undefined) throw new ApiError('TokenMissing', 'send "Authorization: Bearer <token>"');
  // Checked before the token is looked up: a request another site made costs nothing. A browser
  // always sends Origin on a WebSocket upgrade, so there the Origin alone decides.
  if (given.source === 'cookie' && options.websocket && !webSocketOriginAllowed(c, options.corsOrigins ?? [])) {
    throw new ApiError('OriginNotAllowed', 'the token cookie works only from pages of an allowed origin; offer the bearer.<token> subprotocol instead');
  }
  if (given.source === 'cookie' && !options.websocket && !fromOwnOrigin(c) && !fromAllowedOrigin(c, options.corsOrigins ?? [])) {
    throw new ApiError('CrossSiteCookieRefused', 'the token cookie works only from pages of this service or an allowed origin; send the token in the Authorization header');
  }
  if (!looksLikeToken(given.token)) throw new ApiError('TokenInvalid', 'the token is unknown or revoked');
  // Hashed once here: the lookup and the stream's later re-checks (reauthenticate) both use it.
  const tokenHash = hashToken(given.token);
  const found = await auth.authenticateHash(tokenHash, sourceAddress(c));
  if (!found) throw new ApiError('TokenInvalid', 'the token is unknown or revoked');
  return { principal: found, tokenHash, source: given.source };
}

export interface RequireClientOptions {
  /** The SSE stream: the token may also come as ?access_token= or the switchyard_token cookie. */
  allowQueryAndCookie?: boolean;
  /** The WebSocket upgrade: the token may also come as a bearer.<token> subprotocol or the cookie. */
  websocket?: boolean;
  /** Other origins whose pages may send the cookie (SWITCHYARD_CORS_ORIGINS). */
  corsOrigins?: string[];
}

export function requireClient(auth: Authenticator, options: RequireClientOptions = {}) {
  return createMiddleware(async (c, next) => {
    const { principal: found, tokenHash, source } = await principal(c, auth, options);
    c.set('tokenSource', source);
    if (found.kind !== 'client') throw new ApiError('Forbidden', 'this endpoint is for clients; the admin token cannot use it');
    const limit = auth.rateLimiter?.take(found.client.id);
    if (limit && !limit.allowed) {
      throw new ApiError('RateLimited', `this client's rate limit is used up; retry after ${limit.headers['Retry-After']} s`, { headers: limit.headers });
    }
    const rateLimitHeaders = limit?.headers ?? {};
    for (const [name, value] of Object.entries(rateLimitHeaders)) c.header(name, value);
    c.set('rateLimitHeaders', rateLimitHeaders); // for answers written straight to the socket (SSE)
    c.set('client', found.client);
    // Long-lived requests (the SSE stream) ask again from time to time: a revoked or rotated
    // token must stop working there too. The closure keeps the token out of the context, and
    // holds its hash, so asking again is a cache lookup, not a SHA-256 each time.
    const clientId = found.client.id;
    const key = tokenKey(tokenHash);
    c.set('reauthenticate', async () => {
      const again = await auth.authenticateClientKey(key);
      return again?.kind === 'client' && again.client.id === clientId;
    });
    await next();
  });
}

/**
 * The admin token, or with allowSession the dashboard's session cookie when no Authorization header
 * is sent (a bearer token always wins). A cookie that does not check out is refused, never ignored:
 * the page then knows to ask for the token again.
 */
export function requireAdmin(auth: Authenticator, options: { allowSession?: boolean } = {}) {
  return createMiddleware(async (c, next) => {
    const session = options.allowSession && c.req.header('authorization') === undefined ? getCookie(c, ADMIN_SESSION_COOKIE) : undefined;
    if (session !== undefined) {
      if (!fromOwnOrigin(c)) throw new ApiError('Forbidden', 'an admin session works only from pages of this service; send the admin token instead');
      const endsAt = auth.adminSessions?.verify(session);
      if (endsAt === undefined) throw new ApiError('TokenInvalid', 'the admin session has ended or is not valid; log in to the dashboard again');
      c.set('adminSessionEndsAt', endsAt);
      return next();
    }
    const { principal: found } = await principal(c, auth, {});
    if (found.kind !== 'admin') throw new ApiError('Forbidden', 'this endpoint needs the admin token');
    await next();
  });
}

/**
 * SameSite=Strict keeps the session cookie off requests from other sites, but a page on another
 * origin of the same site (one that SWITCHYARD_CORS_ORIGINS allows, with credentials) would still
 * send it. Browsers say where a request comes from; only this service's own pages may use it.
 */
function fromOwnOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = c.req.header('origin');
  if (origin === undefined) return true; // same-origin GETs carry none
  try {
    return new URL(origin).host === c.req.header('host');
  } catch {
    return false; // "null" and other opaque origins
  }
}

/** A WebSocket upgrade without Origin is no browser's (which cannot be tricked into sending the cookie); else this service's own or a listed one. */
function webSocketOriginAllowed(c: Context, origins: string[]): boolean {
  const origin = c.req.header('origin');
  if (origin === undefined || origins.includes(origin)) return true;
  try {
    return new URL(origin).host === c.req.header('host');
  } catch {
    return false;
  }
}

/** A request from a page of an origin SWITCHYARD_CORS_ORIGINS allows (the browser sends Origin on credentialed CORS requests). */
function fromAllowedOrigin(c: Context, origins: string[]): boolean {
  const origin = c.req.header('origin');
  return origin !== undefined && origins.includes(origin);
}
