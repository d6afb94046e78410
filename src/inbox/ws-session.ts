// One client's WebSocket: reads its frames and answers them. `hello` starts the same stream core
// the SSE route uses (InboxService.stream), framed as `message` frames; ack, nack, extend and
// publish run what their HTTP routes run, under the same token check and client rate limit, and
// answer with a `result` frame carrying the request's id. A frame that cannot be understood gets
// an `error` frame and changes nothing; the socket stays open.
import type { z } from '@hono/zod-openapi';
import type { ClientRecord } from '../auth/client-token.repository.ts';
import type { RateLimiter } from '../auth/rate-limiter.ts';
import { ApiError, isRecord, problemBody, validationError, type Problem } from '../http/problem.ts';
import { isDatabaseUnreachable } from '../db/errors.ts';
import type { Logger } from '../logger.ts';
import { listenForAbort, stopListeningForAbort } from '../queue/abort-listeners.ts';
import { outageLog } from './stream-outage-log.ts';
import type { createMessageSchemas } from '../messages/messages.schemas.ts';
import { PUBLISH_BATCH_PATH, PUBLISH_PATH, publishedAnswer, publishedBatchAnswer, type Publisher } from '../messages/publisher.ts';
import type { InboxService } from './inbox.service.ts';
import { SLOW_CONSUMER, SlowConsumerError } from './slow-consumer.ts';
import { ClientFrameSchema, type ClientFrame } from './ws-frames.schemas.ts';
import type { WsWriter } from './ws-writer.ts';

/** Frames a socket may send per second, and in a burst: generous for batched acks, a wall for floods. */
export const WS_FRAMES_PER_SECOND = 100;
export const WS_FRAME_BURST = 200;

/** Problems name this as their instance: the route the frames arrive on. */
const INSTANCE = '/v1/inbox/ws';

export interface WsSessionOptions {
  inbox: InboxService;
  /** Undefined where this process does not run the router role: publish frames are refused. */
  publisher: Publisher | undefined;
  publishSchemas: ReturnType<typeof createMessageSchemas>;
  rateLimiter: RateLimiter | undefined;
  heartbeatMs: number;
  /** Text frames over this many bytes get an error frame (PayloadTooLarge). */
  frameMaxBytes: number;
  shutdown: AbortSignal;
  log: Logger;
}

export class WsSession {
  readonly #writer: WsWriter;
  readonly #client: ClientRecord;
  readonly #stillAuthorized: () => Promise<boolean>;
  readonly #requestId: string;
  readonly #o: WsSessionOptions;
  readonly #closed = new AbortController();
  #streaming = false;
  #tokens = WS_FRAME_BURST;
  #refilledAt = performance.now();

  constructor(writer: WsWriter, client: ClientRecord, stillAuthorized: () => Promise<boolean>, requestId: string, o: WsSessionOptions) {
    this.#writer = writer;
    this.#client = client;
    this.#stillAuthorized = stillAuthorized;
    this.#requestId = requestId;
    this.#o = o;
    const onShutdown = () => this.#end('ShuttingDown', 'the service is shutting down; reconnect');
    listenForAbort(o.shutdown, onShutdown);
    this.#closed.signal.addEventListener('abort', () => stopListeningForAbort(o.shutdown, onShutdown), { once: true });
  }

  /** The socket closed (either side): the stream stops. */
  closed(): void {
    this.#closed.abort();
  }

  receive(data: unknown): void {
    if (!this.#takeToken()) {
      return this.#error(undefined, new ApiError('RateLimited', `at most ${WS_FRAMES_PER_SECOND} frames per second (bursts of ${WS_FRAME_BURST}); the frame was dropped`));
    }
    if (typeof data !== 'string') return this.#error(undefined, new ApiError('MalformedJson', 'send JSON text frames, not binary ones'));
    if (Buffer.byteLength(data) > this.#o.frameMaxBytes) {
      return this.#error(undefined, new ApiError('PayloadTooLarge', `frames are limited to ${this.#o.frameMaxBytes} bytes`));
    }
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch {
      return this.#error(undefined, new ApiError('MalformedJson', 'the frame is not valid JSON'));
    }
    const id = isRecord(raw) && typeof raw.id === 'string' && raw.id.length <= 64 ? raw.id : undefined;
    const parsed = ClientFrameSchema.safeParse(raw);
    if (!parsed.success) return this.#error(id, validationError(parsed.error));
    this.#handle(parsed.data);
  }

  #handle(frame: ClientFrame): void {
    const { inbox } = this.#o;
    const clientId = this.#client.id;
    switch (frame.type) {
      case 'ping':
        void this.#writer.send({ type: 'pong', ...(frame.id === undefined ? {} : { id: frame.id }) });
        return;
      case 'hello':
        return this.#hello(frame);
      case 'ack':
        return this.#request(frame.id, () => inbox.ack(clientId, frame.receipts));
      case 'nack':
        return this.#request(frame.id, () => inbox.nack(clientId, frame.receipts, frame.delay_seconds, frame.reason));
      case 'extend':
        return this.#request(frame.id, () => inbox.extend(clientId, frame.receipts, frame.visibility));
      case 'publish':
        return this.#request(frame.id, () => this.#publish(frame));
    }
  }

  #hello(frame: Extract<ClientFrame, { type: 'hello' }>): void {
    if (this.#streaming) return this.#error(frame.id, new ApiError('Conflict', 'hello was already sent on this socket'));
    this.#streaming = true;
    const options = {
      visibilitySeconds: frame.visibility, prefetch: frame.prefetch, autoAck: frame.ack === 'auto',
      heartbeatMs: this.#o.heartbeatMs, lastEventId: frame.last_event_id, stillAuthorized: this.#stillAuthorized,
    };
    const output = {
      send: (eventId: string, message: unknown) => this.#writer.send({ type: 'message', event_id: eventId, message }),
      // Liveness is the server's ping (ws-server.ts); the core's heartbeat only paces its token checks.
      heartbeat: () => Promise.resolve(),
    };
    if (frame.id !== undefined) void this.#writer.send({ type: 'result', id: frame.id, result: { stream: 'started' } });
    this.#o.inbox.stream(this.#client.id, options, output, this.#closed.signal).then((end) => {
      if (end === 'unauthorized') this.#end('TokenInvalid', 'the token is unknown or revoked');
    }, (error: unknown) => {
      if (error instanceof SlowConsumerError) {
        this.#o.log.warn('slow consumer disconnected', { clientId: this.#client.id, transport: 'websocket' });
        this.#end(SLOW_CONSUMER, 'the socket was not read for too long; its messages went back to the queue; reconnect to resume');
      } else if (isDatabaseUnreachable(error)) {
        outageLog(this.#o.log).warn('stream ended: the database cannot be reached', { transport: 'websocket' });
        this.#end('DatabaseUnavailable', 'the database cannot be reached right now; reconnect in a moment to resume');
      } else {
        this.#o.log.error('websocket stream failed', { clientId: this.#client.id, error });
        this.#end('InternalError', `the stream failed; quote request id ${this.#requestId}`);
      }
    });
  }

  async #publish(frame: Extract<ClientFrame, { type: 'publish' }>): Promise<object> {
    const { publisher, publishSchemas } = this.#o;
    if (!publisher) throw new ApiError('RouteNotFound', 'this process does not run the router role; publish over HTTP');
    if ((frame.message === undefined) === (frame.messages === undefined)) {
      throw new ApiError('ValidationFailed', 'send exactly one of message and messages', { errors: [{ path: 'message', message: 'send exactly one of message and messages' }] });
    }
    const request = { client: this.#client, idempotencyKey: frame.idempotency_key };
    if (frame.message !== undefined) {
      const input = parse(publishSchemas.PublishSchema, frame.message);
      const { published } = await publisher.publish({ ...request, inputs: [input], paths: [''], body: input, path: PUBLISH_PATH });
      return publishedAnswer(published[0]!);
    }
    const body = parse(publishSchemas.PublishBatchSchema, { messages: frame.messages });
    const paths = body.messages.map((_, i) => `messages.${i}`);
    const { published } = await publisher.publish({ ...request, inputs: body.messages, paths, body, path: PUBLISH_BATCH_PATH });
    return publishedBatchAnswer(published);
  }

  /** Runs one request frame as its HTTP route would: token still good, client rate limit, then the work. */
  #request(id: string, work: () => Promise<object>): void {
    void (async () => {
      try {
        if (!(await this.#stillAuthorized())) return this.#end('TokenInvalid', 'the token is unknown or revoked');
        const limit = this.#o.rateLimiter?.take(this.#client.id);
        if (limit && !limit.allowed) {
          const retryAfter = limit.headers['Retry-After'] ?? '1';
          throw new ApiError('RateLimited', `this client's rate limit is used up; retry after ${retryAfter} s`, { extensions: { retry_after: retryAfter } });
        }
        const result = await work();
        await this.#writer.send({ type: 'result', id, result });
      } catch (error) {
        await this.#writer.send({ type: 'result', id, problem: this.#problem(error) });
      }
    })().catch((error: unknown) => this.#o.log.warn('websocket answer not sent', { error }));
  }

  #problem(error: unknown): Problem {
    if (error instanceof ApiError) return problemBody(error, INSTANCE, this.#requestId);
    this.#o.log.error('websocket request failed', { clientId: this.#client.id, error });
    return problemBody(new ApiError('InternalError', `an unexpected error occurred; quote request id ${this.#requestId}`), INSTANCE, this.#requestId);
  }

  #error(id: string | undefined, error: ApiError): void {
    void this.#writer.send({ type: 'error', ...(id === undefined ? {} : { id }), problem: problemBody(error, INSTANCE, this.#requestId) });
  }

  #end(code: Parameters<WsWriter['close']>[0], detail: string): void {
    this.#closed.abort();
    this.#writer.close(code, detail);
  }

  /** A token bucket of frames, refilled continuously. */
  #takeToken(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(WS_FRAME_BURST, this.#tokens + ((now - this.#refilledAt) / 1000) * WS_FRAMES_PER_SECOND);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error);
  return result.data;
}
