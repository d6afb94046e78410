// Bearer authentication, then the client's rate limit. Tokens come from the Authorization header;
// the SSE stream also takes them from the `access_token` query parameter or the
// `switchyard_token` cookie, because a browser EventSource cannot send headers (weaker: URLs end
// up in logs and history). The WebSocket upgrade takes it from a `bearer.<token>` subprotocol
// (a browser WebSocket cannot send headers either) or the cookie, but the cookie only from pages
// of an allowed origin: browsers send cookies with cross-site upgrades, and no CORS check stands
// in the way of a WebSocket (cross-site WebSocket hijacking). Tokens are never logged: only their hashes go anywhere. Admin routes
// that the dashboard uses also take its session cookie instead of the token (admin-session.ts).
import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { Context } from 'hono';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/problem.ts';
import { ADMIN_SESSION_COOKIE } from './admin-session.ts';
import type { Authenticator, Principal } from './authenticator.ts';
import { looksLikeToken } from './tokens.ts';

export const TOKEN_COOKIE = 'switchyard_token';

/** Where else than the Authorization header a route takes the token from. */
export type TokenSources =
  | { kind: 'header' }
  /** The SSE stream: `access_token` query parameter or the cookie. */
  | { kind: 'query-and-cookie' }
  /** The WebSocket upgrade: a `bearer.<token>` subprotocol, or the cookie from these origins (and this service's own). */
  | { kind: 'websocket'; cookieOrigins: string[] };

export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';

function bearerToken(c: Context, sources: TokenSources): string | undefined {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError('TokenInvalid', 'the Authorization header must be "Bearer <token>"');
    return match[1];
  }
  if (sources.kind === 'query-and-cookie') return c.req.query('access_token') ?? getCookie(c, TOKEN_COOKIE);
  if (sources.kind !== 'websocket') return undefined;
  const offered = (c.req.header('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
  const fromProtocol = offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  if (fromProtocol !== undefined) return fromProtocol.slice(BEARER_SUBPROTOCOL_PREFIX.length);
  const cookie = getCookie(c, TOKEN_COOKIE);
  if (cookie !== undefined && !allowedOrigin(c, sources.cookieOrigins)) {
    throw new ApiError('OriginNotAllowed', 'the token cookie works only from pages of an allowed origin; offer the bearer.<token> subprotocol instead');
  }
  return cookie;
}

/** No Origin: not a browser, which cannot be tricked into sending the cookie. Else this service's own or a listed one. */
function allowedOrigin(c: Context, origins: string[]): boolean {
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  if (origins.includes(origin)) return true;
  try {
    return new URL(origin).host === c.req.header('host');
  } catch {
    return false;
  }
}

async function principal(c: Context, auth: Authenticator, sources: TokenSources): Promise<{ principal: Principal; token: string }> {
  const token = bearerToken(c, sources);
  if (token === undefined) throw new ApiError('TokenMissing', 'send "Authorization: Bearer <token>"');
  const found = looksLikeToken(token) ? await auth.authenticate(token) : undefined;
  if (!found) throw new ApiError('TokenInvalid', 'the token is unknown or revoked');
  return { principal: found, token };
}

export function requireClient(auth: Authenticator, sources: TokenSources = { kind: 'header' }) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const { principal: found, token } = await principal(c, auth, sources);
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
    // token must stop working there too. The closure keeps the token out of the context.
    const clientId = found.client.id;
    c.set('reauthenticate', async () => {
      const again = await auth.authenticate(token);
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
  return createMiddleware<AppEnv>(async (c, next) => {
    const session = options.allowSession && c.req.header('authorization') === undefined ? getCookie(c, ADMIN_SESSION_COOKIE) : undefined;
    if (session !== undefined) {
      if (!fromOwnOrigin(c)) throw new ApiError('Forbidden', 'an admin session works only from pages of this service; send the admin token instead');
      const endsAt = auth.adminSessions?.verify(session);
      if (endsAt === undefined) throw new ApiError('TokenInvalid', 'the admin session has ended or is not valid; log in to the dashboard again');
      c.set('adminSessionEndsAt', endsAt);
      return next();
    }
    const { principal: found } = await principal(c, auth, { kind: 'header' });
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
