// The dashboard page: plain HTML, CSS and JavaScript, and uPlot for the charts, all served by the
// service itself (no CDN, no external fonts, no build step), plus the login that trades the admin
// token for a session cookie (src/auth/admin-session.ts says why a cookie). The numbers come
// from dashboard-data.routes.ts and the dead-letter admin API.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createRoute, z as openapi } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, setCookie } from 'hono/cookie';
import { etag } from 'hono/etag';
import { z } from 'zod';
import { ADMIN_SESSION_COOKIE } from '../auth/admin-session.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { createRouter, jsonResponse } from '../http/openapi.ts';
import { NO_FRAMING_CSP, PAGE_SAFETY_HEADERS } from '../http/page-headers.ts';
import { ApiError, problemResponses, validationError } from '../http/problem.ts';
import { looksLikeToken } from '../auth/tokens.ts';

const LOGIN_BODY_MAX_BYTES = 4 * 1024;

// Only the page's own resources, and nothing of this origin may frame it (the redrive button
// must not be clickable through someone else's page).
const PAGE_HEADERS = {
  'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; ${NO_FRAMING_CSP}; base-uri 'none'`,
  ...PAGE_SAFETY_HEADERS,
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

interface Asset {
  body: string;
  type: string;
}

/** Read once at start-up: a missing file stops the service from starting, not a page from loading. */
function loadAssets(): Map<string, Asset> {
  const own = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
  const uplot = (name: string) => readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${name}`), 'utf8');
  return new Map([
    ['index.html', { body: own('index.html'), type: 'text/html; charset=utf-8' }],
    ['dashboard.js', { body: own('dashboard.js'), type: 'text/javascript; charset=utf-8' }],
    ['dashboard.css', { body: own('dashboard.css'), type: 'text/css; charset=utf-8' }],
    ['uPlot.iife.min.js', { body: uplot('uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' }],
    ['uPlot.min.css', { body: uplot('uPlot.min.css'), type: 'text/css; charset=utf-8' }],
  ]);
}

const LoginSchema = z.strictObject({ token: z.string().min(1).max(512) });

// The page, its files and the login are plain handlers (they read bodies and set cookies their
// own way); these entries only document them in /openapi.json.
const DOCUMENTED = [
  createRoute({
    method: 'get', path: '/dashboard', tags: ['dashboard'], summary: 'The dashboard page (log in with the admin token)',
    responses: { 200: { description: 'The page', content: { 'text/html': { schema: openapi.string() } } } },
  }),
  createRoute({
    method: 'get', path: '/dashboard/assets/{name}', tags: ['dashboard'], summary: "The page's script, styles and uPlot",
    request: { params: openapi.object({ name: openapi.string().openapi({ param: { name: 'name', in: 'path' }, example: 'dashboard.js' }) }) },
    responses: {
      200: { description: 'The file', content: { 'text/javascript': { schema: openapi.string() }, 'text/css': { schema: openapi.string() } } },
      304: { description: 'Not modified (ETag)' },
      ...problemResponses(404),
    },
  }),
  createRoute({
    method: 'post', path: '/dashboard/session', tags: ['dashboard'], summary: 'Log in: the admin token for a session cookie',
    request: { body: { content: { 'application/json': { schema: LoginSchema } }, required: true } },
    responses: {
      200: jsonResponse(openapi.object({ expires_at: openapi.string() }), 'Logged in; the HttpOnly session cookie is set'),
      ...problemResponses(400, 401, 403, 413, 415),
    },
  }),
  createRoute({
    method: 'delete', path: '/dashboard/session', tags: ['dashboard'], summary: 'Log out: forget the session cookie',
    responses: { 204: { description: 'Logged out' } },
  }),
];

export function dashboardRoutes(auth: Authenticator) {
  const assets = loadAssets();
  const app = createRouter();
  for (const route of DOCUMENTED) app.openAPIRegistry.registerPath(route);

  app.get('/dashboard', (c) => c.body(assets.get('index.html')!.body, 200, { ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8' }));

  // Revalidated on every load (ETag): a new version of the service never meets an old script.
  app.get('/dashboard/assets/:name', etag(), (c) => {
    const name = c.req.param('name');
    const asset = name === 'index.html' ? undefined : assets.get(name);
    if (!asset) throw new ApiError('NotFound', `no dashboard asset ${name}`);
    return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  });

  // Log in: the admin token in a JSON body (never in a URL), a session cookie back.
  app.post('/dashboard/session', bodyLimit({
    maxSize: LOGIN_BODY_MAX_BYTES,
    onError: () => {
      throw new ApiError('PayloadTooLarge', `the body is larger than ${LOGIN_BODY_MAX_BYTES} bytes`);
    },
  }), async (c) => {
    if (!/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) throw new ApiError('UnsupportedMediaType', 'send {"token": "..."} as application/json');
    const parsed = LoginSchema.safeParse(await c.req.json().catch(() => {
      throw new ApiError('MalformedJson');
    }));
    if (!parsed.success) throw validationError(parsed.error);
    const sessions = auth.adminSessions;
    if (!sessions) throw new ApiError('Forbidden', 'admin sessions are not available in this process');
    const found = looksLikeToken(parsed.data.token) ? await auth.authenticate(parsed.data.token) : undefined;
    if (!found) throw new ApiError('TokenInvalid', 'the token is unknown or revoked');
    if (found.kind !== 'admin') throw new ApiError('Forbidden', 'the dashboard needs the admin token');
    const session = sessions.issue();
    setCookie(c, ADMIN_SESSION_COOKIE, session.value, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      maxAge: Math.floor(sessions.lifetimeMs / 1000),
      secure: isHttps(c.req.url, c.req.header('x-forwarded-proto')),
    });
    return c.json({ expires_at: session.expiresAt.toISOString() }, 200, { 'cache-control': 'no-store' });
  });

  // Log out. The cookie is only forgotten: a copy of it would work until it expires.
  app.delete('/dashboard/session', (c) => {
    deleteCookie(c, ADMIN_SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Strict', secure: isHttps(c.req.url, c.req.header('x-forwarded-proto')) });
    return c.body(null, 204);
  });

  return app;
}

/** Behind a TLS-terminating proxy the service sees http; the proxy says https (marking a cookie Secure only narrows it). */
function isHttps(url: string, forwardedProto: string | undefined): boolean {
  return new URL(url).protocol === 'https:' || forwardedProto?.split(',')[0]?.trim().toLowerCase() === 'https';
}
