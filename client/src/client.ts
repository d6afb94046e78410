// The Switchyard client: publish (with an automatic Idempotency-Key, so its retries never publish
// twice), request/reply, and consumers over WebSocket, SSE or long poll. One client holds one
// token source and any number of consumers; close() stops them all, draining and flushing.
import type { RetryOptions } from './backoff.ts';
import { Consumer, type ConsumeOptions, type Delivery, type Handler } from './consumer.ts';
import { HttpApi, type TokenSource } from './http.ts';
import { Settler } from './settler.ts';
import type {
  Acked, Extended, Json, Nacked, OutgoingMessage, Published, PublishedBatch, Reply, StateChange,
} from './types.ts';

export interface ClientOptions {
  /** The service's base URL, e.g. http://localhost:8080 */
  url: string;
  /** The client's token, or a provider called for the current one (refresh: true after the service refused it). */
  token: TokenSource;
  /** Retries of publishes and other calls on 429, 503 and network errors. */
  retry?: RetryOptions;
  /** How long acks, nacks and extends wait to be batched, ms (default 20). */
  settleDelayMs?: number;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface PublishOptions extends CallOptions {
  /** Your own key; by default each publish call gets a fresh one, kept across its retries. */
  idempotencyKey?: string;
}

type StateListener = (change: StateChange) => void;

export class SwitchyardClient {
  readonly #api: HttpApi;
  readonly #settleDelayMs: number;
  readonly #consumers = new Set<Consumer<any>>();
  readonly #listeners = new Set<StateListener>();
  readonly #settler: Settler;

  constructor(options: ClientOptions) {
    this.#api = new HttpApi({ baseUrl: options.url, token: options.token, fetch: options.fetch, retry: options.retry });
    this.#settleDelayMs = options.settleDelayMs ?? 20;
    this.#settler = new Settler(() => (kind, body) => this.#api.call('POST', `/v1/inbox/${kind}`, body), this.#settleDelayMs);
  }

  /** Publishes one message; resolves with its id once the service has committed it. */
  publish<T = Json>(message: OutgoingMessage<T>, options: PublishOptions = {}): Promise<Published> {
    return this.#api.call<Published>('POST', '/v1/messages', message, {
      signal: options.signal, headers: { 'idempotency-key': options.idempotencyKey ?? crypto.randomUUID() },
    });
  }

  /** Publishes up to the service's batch limit of messages, all or none. */
  publishBatch<T = Json>(messages: OutgoingMessage<T>[], options: PublishOptions = {}): Promise<PublishedBatch> {
    return this.#api.call<PublishedBatch>('POST', '/v1/messages/batch', { messages }, {
      signal: options.signal, headers: { 'idempotency-key': options.idempotencyKey ?? crypto.randomUUID() },
    });
  }

  /** Publishes a request and waits for the reply addressed back to this client (timeout in seconds, default 30). */
  request<TReply = Json, T = Json>(to: string, payload: T, options: CallOptions & { timeout?: number; type?: string } = {}): Promise<Reply<TReply>> {
    const body = { to, payload, ...(options.type === undefined ? {} : { type: options.type }), ...(options.timeout === undefined ? {} : { timeout_seconds: options.timeout }) };
    return this.#api.call<Reply<TReply>>('POST', '/v1/requests', body, { signal: options.signal, retry: false });
  }

  /** Acks receipts, batched with other acks made within the settle delay (a batch, once sent, is not aborted). */
  async ack(receipts: string[]): Promise<Acked> {
    const results = await Promise.all(receipts.map((r) => this.#settler.ack(r)));
    return { acked: results.filter(Boolean).length, not_acked: receipts.filter((_, i) => !results[i]) };
  }

  /** Gives receipts back at once: visible again after delaySeconds, or the queue's backoff. */
  async nack(receipts: string[], options: CallOptions & { delaySeconds?: number; reason?: string } = {}): Promise<Nacked> {
    return this.#api.call<Nacked>('POST', '/v1/inbox/nack', { receipts, delay_seconds: options.delaySeconds, reason: options.reason }, { signal: options.signal });
  }

  /** Moves the lease deadline of receipts to visibilitySeconds from now. */
  async extend(receipts: string[], visibilitySeconds: number, options: CallOptions = {}): Promise<Extended> {
    return this.#api.call<Extended>('POST', '/v1/inbox/extend', { receipts, visibility: visibilitySeconds }, { signal: options.signal });
  }

  /**
   * Runs handler on every message until the consumer is closed or its signal aborts. A handler that
   * returns acks the message; one that throws nacks it. Returns the consumer (await consumer.done).
   */
  consume<T = Json>(handler: Handler<T>, options: ConsumeOptions = {}): Consumer<T> {
    const consumer = new Consumer<T>({
      api: this.#api,
      settler: (channel) => new Settler(channel, this.#settleDelayMs),
      emit: (change) => this.#listeners.forEach((listener) => listener(change)),
    }, handler, options);
    this.#consumers.add(consumer);
    void consumer.done.catch(() => undefined).finally(() => this.#consumers.delete(consumer));
    return consumer;
  }

  /**
   * The messages as an async iterable. A message is acked when the loop asks for the next one or
   * leaves (break, return); call message.nack() to give it back instead. One at a time.
   */
  async *messages<T = Json>(options: Omit<ConsumeOptions, 'concurrency'> = {}): AsyncGenerator<Delivery<T>, void, undefined> {
    const ready: { message: Delivery<T>; done: () => void }[] = [];
    let wake: (() => void) | undefined;
    let failed: unknown;
    const consumer = this.consume<T>((message) => new Promise<void>((done) => {
      ready.push({ message, done });
      wake?.();
    }), { ...options, concurrency: 1 });
    void consumer.done.then(() => wake?.(), (error: unknown) => {
      failed = error;
      wake?.();
    });
    let current: (() => void) | undefined;
    try {
      for (;;) {
        current?.();
        current = undefined;
        while (ready.length === 0 && failed === undefined && !options.signal?.aborted) {
          const stopped = await Promise.race([new Promise<boolean>((resolve) => (wake = () => resolve(false))), consumer.done.then(() => true, () => true)]);
          if (stopped && ready.length === 0) break;
        }
        if (failed !== undefined) throw failed;
        const next = ready.shift();
        if (!next) return;
        current = next.done;
        yield next.message;
      }
    } finally {
      current?.();
      await consumer.close();
    }
  }

  /** Listens to connection state changes of every consumer; returns the function that stops listening. */
  onState(listener: StateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Closes every consumer (running handlers finish, acks are flushed) and flushes this client's own acks. */
  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((c) => c.close()));
    await this.#settler.flush();
  }
}
