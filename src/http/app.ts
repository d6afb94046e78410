// The HTTP application: request ids and logs, CORS, body limits, content types, and the one place
// where errors become problem+json responses (404 and 405 included). Feature routers are mounted by
// the composition root.
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { requestId } from 'hono/request-id';
import { isDatabaseUnreachable } from '../db/errors.ts';
import { stormProof, type Logger } from '../logger.ts';
import { limitBody } from './body-limit.ts';
import { corsAllowlist } from './cors.ts';
import type { AppEnv } from './env.ts';
import { ApiError, problemBody, type ErrorCode } from './problem.ts';
import { assignRequestId } from './request-id.ts';

export interface AppOptions {
  log: Logger;
  maxBodyBytes: number;
  /** Origins whose pages may call the API (CORS); none by default. */
  corsOrigins?: string[];
  /** Told of every answer, refusals by the middleware below included (metrics). */
  onResponse?: (c: Context<AppEnv>, seconds: number) => void;
}

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** How long a client should wait before retrying while the database cannot be reached. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

export function createApp(o: AppOptions): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  // During an outage every request fails the same way: say so once every few seconds, not per request.
  const outageLog = stormProof(o.log);

  app.use(assignRequestId());
  app.use(async (c, next) => {
    const log = o.log.child({ request_id: c.var.requestId, ...(c.var.clientRequestId ? { client_request_id: c.var.clientRequestId } : {}) });
    c.set('log', log);
    const started = performance.now();
    await next();
    const status = c.res.status;
    const elapsed = performance.now() - started;
    o.onResponse?.(c, elapsed / 1000);
    // Paths only: query strings may carry an access_token.
    const fields = { method: c.req.method, path: c.req.path, status, ms: Math.round(elapsed) };
    // One line per failed request, with the error that caused it. A 503 is a refusal the service
    // chose (Overloaded, ShuttingDown; DatabaseUnavailable is logged apart, storm-proof), counted in
    // the HTTP metrics: logging each as an error would add work exactly while the service is overloaded.
    if (status >= 500 && c.var.unexpectedError !== undefined) log.error('request failed', { ...fields, error: c.var.unexpectedError });
    else if (status >= 500 && status !== 503 && status !== 504) log.error('request failed', fields); // 504: ReplyTimeout, an answer
    else log.debug('request', fields);
  });

  // A path that exists with other methods is a 405 naming them in Allow, not a 404. The routes are
  // read on the first miss, once all of them are mounted.
  app.use(methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) => problemResponse(c, new ApiError('MethodNotAllowed', `${c.req.method} is not allowed on ${c.req.path}; use ${methods.join(', ')}`, {
      headers: { Allow: methods.join(', ') },
    })),
  }));
  app.use('/v1/*', corsAllowlist(o.corsOrigins ?? []));

  app.use('/v1/*', async (c, next) => {
    if (METHODS_WITH_BODY.has(c.req.method) && hasBody(c) && !isJson(c.req.header('content-type'))) {
      throw new ApiError('UnsupportedMediaType', 'send the body as application/json');
    }
    await next();
  });
  app.use('/v1/*', limitBody(o.maxBodyBytes));

  app.onError((error, c) => problemResponse(c, toApiError(error, c, outageLog)));
  app.notFound((c) => problemResponse(c, new ApiError('RouteNotFound', `no route for ${c.req.method} ${c.req.path}`)));
  return app;
}

function hasBody(c: Context): boolean {
  const length = c.req.header('content-length');
  return (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType);
}

const HTTP_STATUS_CODES: Record<number, ErrorCode> = {
  400: 'ValidationFailed', 401: 'TokenInvalid', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  409: 'Conflict', 413: 'PayloadTooLarge', 415: 'UnsupportedMediaType',
};

function toApiError(error: unknown, c: Context<AppEnv>, outageLog: Logger): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException) {
    if (error.status === 400 && /malformed json/i.test(error.message)) {
      return new ApiError('MalformedJson', 'the request body is not valid JSON');
    }
    const code = HTTP_STATUS_CODES[error.status];
    if (code) return new ApiError(code, error.message || undefined);
  }
  if (isDatabaseUnreachable(error)) {
    outageLog.warn('database unreachable: answering 503', { error: (error as Error).message });
    return new ApiError('DatabaseUnavailable', 'the database cannot be reached right now; retry after the time in Retry-After', {
      headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
    });
  }
  // Details stay in the log (the request's one line); the client gets the request id to quote.
  c.set('unexpectedError', error);
  return new ApiError('InternalError', `an unexpected error occurred; quote request id ${c.var.requestId ?? 'unknown'}`);
}

function problemResponse(c: Context<AppEnv>, error: ApiError): Response {
  const body = problemBody(error, c.req.path, c.var.requestId);
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: { 'content-type': 'application/problem+json', ...(c.var.requestId ? { 'x-request-id': c.var.requestId } : {}), ...error.headers },
  });
}
