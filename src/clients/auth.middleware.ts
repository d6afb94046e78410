// Bearer authentication. Tokens come from the Authorization header; the SSE stream also takes
// them from the `access_token` query parameter or the `switchyard_token` cookie, because a
// browser EventSource cannot send headers (weaker: URLs end up in logs and history).
import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { Context } from 'hono';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/problem.ts';
import type { Authenticator, Principal } from './authenticator.ts';
import { looksLikeToken } from './tokens.ts';

export const TOKEN_COOKIE = 'switchyard_token';

function bearerToken(c: Context, allowQueryAndCookie: boolean): string | undefined {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError('TokenInvalid', 'the Authorization header must be "Bearer <token>"');
    return match[1];
  }
  if (!allowQueryAndCookie) return undefined;
  return c.req.query('access_token') ?? getCookie(c, TOKEN_COOKIE);
}

async function principal(c: Context, auth: Authenticator, allowQueryAndCookie: boolean): Promise<Principal> {
  const token = bearerToken(c, allowQueryAndCookie);
  if (token === undefined) throw new ApiError('TokenMissing', 'send "Authorization: Bearer <token>"');
  const found = looksLikeToken(token) ? await auth.authenticate(token) : undefined;
  if (!found) throw new ApiError('TokenInvalid', 'the token is unknown or revoked');
  return found;
}

export function requireClient(auth: Authenticator, options: { allowQueryAndCookie?: boolean } = {}) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const found = await principal(c, auth, options.allowQueryAndCookie ?? false);
    if (found.kind !== 'client') throw new ApiError('Forbidden', 'this endpoint is for clients; the admin token cannot use it');
    c.set('client', found.client);
    await next();
  });
}

export function requireAdmin(auth: Authenticator) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const found = await principal(c, auth, false);
    if (found.kind !== 'admin') throw new ApiError('Forbidden', 'this endpoint needs the admin token');
    await next();
  });
}
