import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { createRoute, z } from '@hono/zod-openapi';
import { requireClient } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { WaitLimits } from '../clients/wait-limits.ts';
import { bearer, createRouter, jsonBody, jsonResponse } from '../http/openapi.ts';
import { corsResponseHeaders } from '../http/cors.ts';
import { ApiError, problemResponses } from '../http/problem.ts';
import { isDatabaseUnreachable } from '../db/errors.ts';
import type { Logger } from '../logger.ts';
import { listenForAbort, stopListeningForAbort } from '../queue/abort-listeners.ts';
import type { DeadLettersService } from './dead-letters.service.ts';
import {
  AckedSchema, AckSchema, DeadLetterPageSchema, DeadLetterQuery, ExtendedSchema, ExtendSchema, NackedSchema, NackSchema,
  ReceivedSchema, ReceiveQuery, RedrivenSchema, RedriveSchema, StreamQuery, toDate as date, type InboxMessage,
} from './inbox.schemas.ts';
import type { InboxService } from './inbox.service.ts';
import { SLOW_CONSUMER, SlowConsumerError } from './slow-consumer.ts';
import { SseWriter } from './sse-writer.ts';
import { outageLog } from './stream-outage-log.ts';

export interface InboxRoutesOptions {
  heartbeatMs: number;
  retryMs: number;
  /** Aborts when the service shuts down: waits end, streams close. */
  shutdown: AbortSignal;
  /** A stream whose client has not read for this long is closed (SlowConsumer). */
  writeTimeoutMs: number;
  /** Origins allowed to call the API from a browser (CORS). */
  corsOrigins: string[];
  /** Streams and long polls each client may hold open in this process. */
  waitLimits: WaitLimits;
  log: Logger;
}

export function inboxRoutes(auth: Authenticator, inbox: InboxService, deadLetters: DeadLettersService, o: InboxRoutesOptions) {
  const app = createRouter();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/inbox',
      tags: ['inbox'],
      summary: 'Receive messages (long poll)',
      description: 'Returns as soon as anything is visible, or an empty list after `wait` seconds. Each message stays invisible to other receivers for `visibility` seconds unless acked.',
      security: bearer,
      middleware: [requireClient(auth)] as const,
      request: { query: ReceiveQuery },
      responses: { 200: jsonResponse(ReceivedSchema, 'Messages, possibly none'), ...problemResponses(400, 401, 403, 429) },
    }),
    async (c) => {
      const { wait, max, visibility } = c.req.valid('query');
      const signal = AbortSignal.any([c.req.raw.signal, o.shutdown]);
      const release = o.waitLimits.acquire(c.var.client.id, 'wait');
      try {
        const messages = await inbox.receive(c.var.client.id, {
          max, visibilitySeconds: visibility, waitSeconds: wait, stillAuthorized: c.var.reauthenticate,
        }, signal);
        return c.json({ messages }, 200);
      } finally {
        release();
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/inbox/ack',
      tags: ['inbox'],
      summary: 'Acknowledge (delete) received messages',
      security: bearer,
      middleware: [requireClient(auth)] as const,
      request: { body: jsonBody(AckSchema) },
      responses: { 200: jsonResponse(AckedSchema, 'How many were acked'), ...problemResponses(400, 401, 403, 413, 415) },
    }),
    async (c) => c.json(await inbox.ack(c.var.client.id, c.req.valid('json').receipts), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/inbox/nack',
      tags: ['inbox'],
      summary: 'Give received messages back, to be delivered again later',
      description: 'Without delay_seconds they come back after an exponential backoff with jitter (the client\'s policy). A message that has used up max_receives goes to the dead letters instead.',
      security: bearer,
      middleware: [requireClient(auth)] as const,
      request: { body: jsonBody(NackSchema) },
      responses: { 200: jsonResponse(NackedSchema, 'What happened to each'), ...problemResponses(400, 401, 403, 413, 415) },
    }),
    async (c) => {
      const { receipts, delay_seconds, reason } = c.req.valid('json');
      return c.json(await inbox.nack(c.var.client.id, receipts, delay_seconds, reason), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/inbox/extend',
      tags: ['inbox'],
      summary: 'Move the lease deadline of received messages',
      security: bearer,
      middleware: [requireClient(auth)] as const,
      request: { body: jsonBody(ExtendSchema) },
      responses: { 200: jsonResponse(ExtendedSchema, 'How many were extended'), ...problemResponses(400, 401, 403, 413, 415) },
    }),
    async (c) => {
      const { receipts, visibility } = c.req.valid('json');
      return c.json(await inbox.extend(c.var.client.id, receipts, visibility), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/inbox/dead-letters',
      tags: ['inbox'],
      summary: "The calling client's dead letters, newest first",
      security: bearer,
      middleware: [requireClient(auth)] as const,
      request: { query: DeadLetterQuery },
      responses: { 200: jsonResponse(DeadLetterPageSchema, 'One page'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const filter = { clientId: c.var.client.id, errorLike: q.error, since: date(q.since), until: date(q.until) };
      return c.json(await deadLetters.list(filter, q.before, q.limit), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/inbox/dead-letters/redrive',
      tags: ['inbox'],
      summary: "Put the calling client's dead letters back in its queue",
      description: 'Works in bounded batches until nothing matches, or max_batches or max_seconds is reached; call again while done is false.',
      security: bearer,
      middleware: [requireClient(auth)] as const,
      request: { body: jsonBody(RedriveSchema) },
      responses: { 200: jsonResponse(RedrivenSchema, 'Progress'), ...problemResponses(400, 401, 403, 413, 415) },
    }),
    async (c) => {
      const b = c.req.valid('json');
      const filter = { clientId: c.var.client.id, errorLike: b.error, since: date(b.since), until: date(b.until) };
      return c.json(await deadLetters.redrive(filter, { batchSize: b.batch_size, maxBatches: b.max_batches, maxSeconds: b.max_seconds }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/inbox/stream',
      tags: ['inbox'],
      summary: 'Receive messages as Server-Sent Events',
      description: 'Every event has an `id:`; reconnect with `Last-Event-ID` (header or `last_event_id`) and the messages the earlier stream sent after it come again at once. Heartbeat comments keep idle connections open. Ack over POST /v1/inbox/ack, or pass ack=auto.',
      security: bearer,
      middleware: [requireClient(auth, { allowQueryAndCookie: true, corsOrigins: o.corsOrigins })] as const,
      request: { query: StreamQuery },
      responses: {
        200: { description: 'An event stream of InboxMessage JSON (event: message)', content: { 'text/event-stream': { schema: z.string() } } },
        ...problemResponses(400, 401, 403, 429),
      },
    }),
    (c) => {
      const query = c.req.valid('query');
      const clientId = c.var.client.id;
      // A URL or a cookie can be put in a victim's browser by another site; deleting messages as
      // they are sent must be what the token's holder asked for.
      if (query.ack === 'auto' && c.var.tokenSource !== 'header') {
        throw new ApiError('AutoAckNeedsAuthorizationHeader', 'ack=auto deletes messages as they are sent: send the token in the Authorization header, not as access_token or a cookie', {
          errors: [{ path: 'ack', message: 'auto needs the token in the Authorization header' }],
        });
      }
      const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
      if (!outgoing) throw new Error('the event stream needs the Node HTTP server');
      const release = o.waitLimits.acquire(clientId, 'stream');
      let writer: SseWriter;
      try {
        writer = new SseWriter(outgoing, o.writeTimeoutMs);
      // Written straight to the socket, so the headers middleware would add are added here. (Reading
      // c.res would make hono wrap the already-sent marker in a new response and write it again.)
        writer.open({
          'x-request-id': c.var.requestId, ...c.var.rateLimitHeaders, ...corsResponseHeaders(o.corsOrigins, c.req.header('origin')),
        }, o.retryMs);
      } catch (error) {
        release();
        throw error;
      }
      const closed = new AbortController();
      const abort = () => closed.abort();
      writer.onClose(abort);
      listenForAbort(o.shutdown, abort);
      const options = {
        visibilitySeconds: query.visibility,
        prefetch: query.prefetch,
        autoAck: query.ack === 'auto',
        heartbeatMs: o.heartbeatMs,
        lastEventId: c.req.header('last-event-id') ?? query.last_event_id,
        stillAuthorized: c.var.reauthenticate,
      };
      const output = {
        send: (id: string, message: InboxMessage) => writer.event('message', id, JSON.stringify(message)),
        heartbeat: () => writer.comment('heartbeat'),
      };
      // One reaction per outcome, each cleaning up itself (no .finally): every idle stream holds
      // these until it ends.
      const ended = () => {
        release();
        stopListeningForAbort(o.shutdown, abort);
      };
      void inbox.stream(clientId, options, output, closed.signal).then(
        (end) => {
          ended();
          // A revoked or rotated token: say why before closing, so that a client stops reconnecting
          // with it (a reconnect would get 401 TokenInvalid).
          writer.close(end === 'unauthorized' ? { code: 'TokenInvalid', detail: 'the token is unknown or revoked' } : undefined);
        },
        (error: unknown) => {
          ended();
          if (error instanceof SlowConsumerError) {
            o.log.warn('slow consumer disconnected', { clientId });
            writer.close({ code: SLOW_CONSUMER, detail: 'the stream was not read for too long; reconnect to resume' });
          } else if (isDatabaseUnreachable(error)) {
            outageLog(o.log).warn('stream ended: the database cannot be reached', { transport: 'sse' });
            writer.close({ code: 'DatabaseUnavailable', detail: 'the database cannot be reached right now; reconnect in a moment to resume' });
          } else {
            o.log.error('event stream failed', { clientId, error });
            writer.close();
          }
        },
      );
      return RESPONSE_ALREADY_SENT as never;
    },
  );

  return app;
}
