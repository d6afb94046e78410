// Browsers on other origins: CORS for an allowlist of exact origins (SWITCHYARD_CORS_ORIGINS,
// none by default). An allowed origin gets the CORS headers, credentials included (the stream's
// cookie), on every /v1 response, errors too, and its preflights are answered here, before any
// authentication, so that the stream and long poll work from a page with an Authorization header
// or an EventSource withCredentials. Any other origin gets no CORS header at all, and its
// preflight a 403 OriginNotAllowed: the browser then keeps the response from the page.
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { ApiError } from './problem.ts';

export const CORS_ALLOW_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID'];
export const CORS_EXPOSE_HEADERS = ['Retry-After', 'RateLimit', 'RateLimit-Policy', 'X-Request-Id', 'Idempotent-Replayed', 'Allow'];
const CORS_MAX_AGE_SECONDS = 600;

export function corsAllowlist(origins: string[]): MiddlewareHandler {
  const allowed = new Set(origins);
  const allow = cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    credentials: true,
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: CORS_MAX_AGE_SECONDS,
  });
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && allowed.has(origin)) return allow(c, next);
    const preflight = c.req.method === 'OPTIONS' && origin !== undefined && c.req.header('access-control-request-method') !== undefined;
    if (preflight) throw new ApiError('OriginNotAllowed', `${origin} is not among the origins allowed to call this API from a browser`);
    await next();
    // Responses differ by Origin once any origin is allowed: shared caches must keep them apart.
    // A response written straight to the socket (the event stream) said so itself; touching its
    // headers here would make hono answer a second time and end the stream.
    if (allowed.size > 0 && c.res !== RESPONSE_ALREADY_SENT) c.header('Vary', 'Origin', { append: true });
  };
}

/**
 * The CORS headers an allowed origin gets, for responses written straight to the socket (the SSE
 * stream), which do not pass through the middleware's header handling. None for other origins.
 */
export function corsResponseHeaders(origins: string[], origin: string | undefined): Record<string, string> {
  if (origin === undefined || !origins.includes(origin)) return origins.length > 0 ? { vary: 'Origin' } : {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': CORS_EXPOSE_HEADERS.join(','),
    vary: 'Origin',
  };
}
