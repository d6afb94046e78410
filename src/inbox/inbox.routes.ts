import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { requireClient } from '../clients/auth.middleware.ts';
import type { Authenticator } from '../clients/authenticator.ts';
import { bearer, createRouter, jsonBody, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import type { DeadLettersService } from './dead-letters.service.ts';
import {
  AckedSchema, AckSchema, DeadLetterPageSchema, DeadLetterQuery, ExtendedSchema, ExtendSchema, NackedSchema, NackSchema,
  ReceivedSchema, ReceiveQuery, RedrivenSchema, RedriveSchema, StreamQuery, toDate as date,
} from './inbox.schemas.ts';
import type { InboxService } from './inbox.service.ts';

export interface InboxRoutesOptions {
  heartbeatMs: number;
  retryMs: number;
  /** Aborts when the service shuts down: waits end, streams close. */
  shutdown: AbortSignal;
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
      const messages = await inbox.receive(c.var.client.id, {
        max, visibilitySeconds: visibility, waitSeconds: wait, stillAuthorized: c.var.reauthenticate,
      }, signal);
      return c.json({ messages }, 200);
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
      return c.json(await deadLetters.list(filter, date(q.before), q.limit), 200);
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
      middleware: [requireClient(auth, { allowQueryAndCookie: true })] as const,
      request: { query: StreamQuery },
      responses: {
        200: { description: 'An event stream of InboxMessage JSON (event: message)', content: { 'text/event-stream': { schema: z.string() } } },
        ...problemResponses(400, 401, 403),
      },
    }),
    (c) => {
      const query = c.req.valid('query');
      const clientId = c.var.client.id;
      c.header('X-Accel-Buffering', 'no'); // proxies must not buffer the stream
      return streamSSE(c, async (stream) => {
        const closed = new AbortController();
        stream.onAbort(() => closed.abort());
        const signal = AbortSignal.any([closed.signal, c.req.raw.signal, o.shutdown]);
        await stream.write(`retry: ${o.retryMs}\n\n`);
        const end = await inbox.stream(
          clientId,
          {
            visibilitySeconds: query.visibility,
            prefetch: query.prefetch,
            autoAck: query.ack === 'auto',
            heartbeatMs: o.heartbeatMs,
            lastEventId: c.req.header('last-event-id') ?? query.last_event_id,
            stillAuthorized: c.var.reauthenticate,
          },
          {
            send: (id, message) => stream.writeSSE({ id, event: 'message', data: JSON.stringify(message) }),
            heartbeat: () => stream.write(': heartbeat\n\n').then(() => undefined),
          },
          signal,
        );
        // A revoked or rotated token: say why before closing, so that a client stops reconnecting
        // with it (a reconnect would get 401 TokenInvalid).
        if (end === 'unauthorized') {
          await stream.writeSSE({ event: 'closed', data: JSON.stringify({ code: 'TokenInvalid', detail: 'the token is unknown or revoked' }) });
        }
      }) as never;
    },
  );

  return app;
}
