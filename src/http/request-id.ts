// Every request gets an id of ours, in the log, in problem answers and in X-Request-Id. A client's
// own X-Request-Id is never used as that id: whoever sends it could make log lines of different
// requests share an id, or pass one off as another's. It is kept, checked and cut short, beside
// ours as client_request_id, so a caller can still find its request in our logs.
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';

/** Longer client ids are cut here: enough for any tracing id (W3C trace ids are 32 hex characters). */
export const CLIENT_REQUEST_ID_MAX_LENGTH = 128;
/** Visible ASCII only: nothing that could break a log line or smuggle control characters. */
const CLIENT_REQUEST_ID_CHARACTERS = /^[\x21-\x7e]+$/;

export function assignRequestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const id = randomUUID();
    c.set('requestId', id);
    const theirs = c.req.header('x-request-id')?.trim().slice(0, CLIENT_REQUEST_ID_MAX_LENGTH);
    if (theirs && CLIENT_REQUEST_ID_CHARACTERS.test(theirs)) c.set('clientRequestId', theirs);
    // Before next(): after it, touching the headers of a response already written to the socket
    // (the event stream) would make hono answer a second time.
    c.header('X-Request-Id', id);
    await next();
  };
}
