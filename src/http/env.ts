// What handlers find on the Hono context.
import type { ClientRecord } from '../clients/clients.repository.ts';
import type { Logger } from '../logger.ts';

export interface AppEnv {
  Variables: {
    /** Ours, always (request-id.ts). */
    requestId: string;
    /** The client's X-Request-Id, checked and cut to 128 characters; never used as ours. */
    clientRequestId: string;
    log: Logger;
    client: ClientRecord;
    /** True while the token that authenticated this request still does (set with client). */
    reauthenticate: () => Promise<boolean>;
    /** Where the client's token came from (set with client): ack=auto on the SSE stream wants the header. */
    tokenSource: 'header' | 'query' | 'cookie' | 'subprotocol';
    /** The RateLimit fields of this client's answer (set with client; also on c.res's headers). */
    rateLimitHeaders: Record<string, string>;
    /** Set when the dashboard's admin session (not the token) let this request in: when it ends, ms since the epoch. */
    adminSessionEndsAt: number;
    /** An error that became a 500, kept for the request's one log line. */
    unexpectedError: unknown;
  };
}
