// What the HTTP layer's own middleware puts on the Hono context. What authentication adds (the
// client and its token's details) is typed in auth/auth.middleware.ts, through ContextVariableMap.
import type { Logger } from '../logger.ts';

export interface AppEnv {
  Variables: {
    /** Ours, always (request-id.ts). */
    requestId: string;
    /** The client's X-Request-Id, checked and cut to 128 characters; never used as ours. */
    clientRequestId: string;
    log: Logger;
    /** An error that became a 500, kept for the request's one log line. */
    unexpectedError: unknown;
  };
}
