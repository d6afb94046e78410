// A consumer: keeps one transport open (WebSocket, else SSE, else long poll), runs the handler on
// each message with bounded concurrency, keeps the lease of a message alive while its handler
// runs, and acks (or nacks) through the batching settler. After a drop it reconnects with backoff
// and resumes from the last event id; a transport that cannot be opened here gives way to the
// next. An optional circuit breaker stops pulling for a while when the handler keeps failing.
import { backoffMs, sleep } from './backoff.ts';
import { SwitchyardError } from './errors.ts';
import type { HttpApi } from './http.ts';
import type { Settler, SettleChannel } from './settler.ts';
import { pollTransport } from './transports/poll-transport.ts';
import { sseTransport } from './transports/sse-transport.ts';
import { TransportBlocked, type Transport, type TransportSession } from './transports/transport.ts';
import { wsTransport } from './transports/ws-transport.ts';
import type { InboxMessage, Json, StateChange, TransportName } from './types.ts';

const TRANSPORTS: Record<TransportName, Transport> = { ws: wsTransport, sse: sseTransport, poll: pollTransport };
const FALLBACK_ORDER: TransportName[] = ['ws', 'sse', 'poll'];
/** Reconnect backoff: full jitter up to this cap, starting from this base. */
const RECONNECT = { attempts: Infinity, baseMs: 250, capMs: 10_000 };

export interface ConsumeOptions {
  /** The transport to start with (default ws); with fallback, later ones in ws, sse, poll order are tried when it is blocked. */
  transport?: TransportName;
  fallback?: boolean;
  /** Unacked messages the service may hand this consumer at once (default 10). */
  prefetch?: number;
  /** Lease, seconds (default 30): extended while a handler runs. */
  visibility?: number;
  /** Handlers running at once (default 1). */
  concurrency?: number;
  /** auto: the service deletes messages as it sends them (at most once; no acks). Default manual. */
  ack?: 'manual' | 'auto';
  /** Remember the ids of this many handled messages (true: 10,000) and ack redeliveries of them unseen. */
  dedup?: boolean | number;
  /** Keep leases alive while handlers run (default true). */
  extendLeases?: boolean;
  /** Delay before a message whose handler failed comes again (default: the queue's backoff). */
  nackDelaySeconds?: number;
  /** Stop pulling for cooldownMs after this many handler failures in a row. */
  circuitBreaker?: { failures: number; cooldownMs: number };
  signal?: AbortSignal;
}

/** A received message, with the means to settle it early; otherwise the handler's outcome settles it. */
export interface Delivery<T = Json> extends InboxMessage<T> {
  ack(): Promise<boolean>;
  nack(options?: { delaySeconds?: number; reason?: string }): Promise<boolean>;
  extend(visibilitySeconds: number): Promise<boolean>;
}

export type Handler<T = Json> = (message: Delivery<T>, context: { signal: AbortSignal }) => unknown;

export interface ConsumerHooks {
  api: HttpApi;
  settler: (channel: () => SettleChannel) => Settler;
  emit(change: StateChange): void;
}

export class Consumer<T = Json> {
  /** Settles when the consumer has stopped: resolves after close() or abort, rejects on a fatal error (a refused token). */
  readonly done: Promise<void>;
  readonly #hooks: ConsumerHooks;
  readonly #handler: Handler<T>;
  readonly #o: Required<Omit<ConsumeOptions, 'signal' | 'circuitBreaker' | 'nackDelaySeconds' | 'dedup'>> & ConsumeOptions;
  readonly #stop = new AbortController();
  readonly #settler: Settler;
  readonly #queue: InboxMessage<T>[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly #seen: Set<string> | undefined;
  /** With dedup: messages queued or being handled, by id; a copy arriving meanwhile brings its newer receipt here. */
  readonly #live = new Map<string, InboxMessage<T>>();
  readonly #seenMax: number;
  #session: TransportSession | undefined;
  #transport: TransportName;
  #lastEventId: string | undefined;
  #roomWaiters: (() => void)[] = [];
  #stopping = false;
  #failuresInRow = 0;
  #breakerUntil = 0;

  constructor(hooks: ConsumerHooks, handler: Handler<T>, options: ConsumeOptions = {}) {
    this.#hooks = hooks;
    this.#handler = handler;
    this.#o = {
      transport: 'ws', fallback: true, prefetch: 10, visibility: 30, concurrency: 1, ack: 'manual', extendLeases: true, ...options,
    };
    this.#transport = this.#o.transport;
    this.#seenMax = options.dedup === true ? 10_000 : typeof options.dedup === 'number' ? options.dedup : 0;
    this.#seen = this.#seenMax > 0 ? new Set() : undefined;
    // Over the open WebSocket when there is one; over HTTP otherwise, or when the socket fails mid-call.
    this.#settler = hooks.settler(() => async (kind, body) => {
      const viaSocket = this.#session?.settle;
      if (viaSocket) {
        try {
          return await viaSocket(kind, body);
        } catch (error) {
          // A socket gone mid-call, or over its frame rate: HTTP (with its retries) carries the batch.
          if (!(error instanceof SwitchyardError) || (error.status !== 0 && error.status !== 429)) throw error;
        }
      }
      return hooks.api.call('POST', `/v1/inbox/${kind}`, body);
    });
    if (options.signal) {
      if (options.signal.aborted) this.#stop.abort();
      else options.signal.addEventListener('abort', () => void this.close(), { once: true });
    }
    this.done = this.#run();
  }

  get transport(): TransportName {
    return this.#transport;
  }

  /** Stops pulling, lets running handlers finish, gives back what they did not start, flushes acks. */
  async close(): Promise<void> {
    if (this.#stopping) return this.done.catch(() => undefined);
    this.#stopping = true;
    this.#wakeRoom();
    await Promise.allSettled([...this.#running]);
    this.#live.clear();
    await Promise.allSettled(this.#queue.splice(0).map((m) => this.#settler.nack(m.receipt, { delaySeconds: 0 })));
    await this.#settler.flush();
    this.#stop.abort();
    this.#session?.close();
    await this.done.catch(() => undefined);
  }

  async #run(): Promise<void> {
    const order = this.#o.fallback ? FALLBACK_ORDER.slice(FALLBACK_ORDER.indexOf(this.#o.transport)) : [this.#o.transport];
    let index = 0;
    let failures = 0;
    let refreshToken = false;
    let state: StateChange['state'] = 'connecting';
    while (!this.#stopping) {
      this.#transport = order[index]!;
      if (this.#breakerUntil > Date.now()) await sleep(this.#breakerUntil - Date.now(), this.#stop.signal).catch(() => undefined);
      if (this.#stopping) break;
      this.#hooks.emit({ state, transport: this.#transport });
      let reason: string;
      try {
        if (refreshToken) await this.#hooks.api.token(true);
        this.#session = await TRANSPORTS[this.#transport](this.#hooks.api, this.#request(), this.#stop.signal);
        failures = 0;
        refreshToken = false;
        this.#hooks.emit({ state: 'open', transport: this.#transport });
        reason = await this.#session.ended;
        this.#session = undefined;
      } catch (error) {
        this.#session = undefined;
        if (this.#stopping) break;
        if (error instanceof TransportBlocked && index + 1 < order.length) {
          index += 1;
          state = 'reconnecting';
          this.#hooks.emit({ state, transport: order[index - 1]!, reason: `${error.message}; falling back to ${order[index]}` });
          continue;
        }
        if (error instanceof SwitchyardError && (error.status === 401 || error.status === 403)) {
          if (error.status === 401 && this.#hooks.api.canRefreshToken && !refreshToken) {
            refreshToken = true;
            continue;
          }
          this.#hooks.emit({ state: 'closed', transport: this.#transport, reason: error.code });
          throw error;
        }
        reason = error instanceof Error ? error.message : String(error);
      }
      if (this.#stopping) break;
      // A revoked or rotated token: ask the provider for a new one before reconnecting.
      if (reason === 'TokenInvalid') refreshToken = true;
      state = 'reconnecting';
      this.#hooks.emit({ state, transport: this.#transport, reason });
      await sleep(backoffMs(failures++, RECONNECT), this.#stop.signal).catch(() => undefined);
    }
    this.#hooks.emit({ state: 'closed', transport: this.#transport, reason: 'closed by the client' });
  }

  #request() {
    return {
      lastEventId: this.#lastEventId,
      prefetch: this.#o.prefetch,
      visibility: this.#o.visibility,
      ack: this.#o.ack,
      onMessage: (message: InboxMessage, eventId: string | undefined) => this.#received(message as InboxMessage<T>, eventId),
      room: () => this.#o.prefetch - this.#queue.length - this.#running.size,
      waitForRoom: (signal: AbortSignal) => new Promise<void>((resolve) => {
        this.#roomWaiters.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
    };
  }

  #received(message: InboxMessage<T>, eventId: string | undefined): void {
    if (eventId !== undefined) this.#lastEventId = eventId;
    const manual = this.#o.ack === 'manual';
    if (this.#stopping || this.#breakerUntil > Date.now()) {
      if (manual) void this.#settler.nack(message.receipt, { delaySeconds: 0 }).catch(() => undefined);
      return;
    }
    if (this.#seen?.has(message.id)) {
      if (manual) void this.#settler.ack(message.receipt).catch(() => undefined);
      return;
    }
    if (this.#seen) {
      const live = this.#live.get(message.id);
      if (live) {
        // Redelivered while the first copy waits or runs: only the newest receipt still acks it.
        live.receipt = message.receipt;
        live.receive_count = message.receive_count;
        return;
      }
      this.#live.set(message.id, message);
    }
    this.#queue.push(message);
    this.#pump();
  }

  #pump(): void {
    while (this.#running.size < this.#o.concurrency && this.#queue.length > 0 && !this.#stopping) {
      const run = this.#handle(this.#queue.shift()!).finally(() => {
        this.#running.delete(run);
        this.#wakeRoom();
        this.#pump();
      });
      this.#running.add(run);
    }
  }

  async #handle(message: InboxMessage<T>): Promise<void> {
    const manual = this.#o.ack === 'manual';
    let settled = !manual;
    const settle = (fn: () => Promise<boolean>) => {
      if (settled) return Promise.resolve(false);
      settled = true;
      return fn();
    };
    // message.receipt is read at settle time: a redelivery meanwhile (with dedup) may have replaced it.
    const delivery: Delivery<T> = {
      ...message,
      ack: () => settle(() => this.#settler.ack(message.receipt)),
      nack: (o) => settle(() => this.#settler.nack(message.receipt, o)),
      extend: (seconds) => this.#settler.extend(message.receipt, seconds),
    };
    // The lease is renewed at half its length while the handler runs.
    const heartbeat = manual && this.#o.extendLeases && this.#o.visibility > 0
      ? setInterval(() => void this.#settler.extend(message.receipt, this.#o.visibility).catch(() => undefined), (this.#o.visibility * 1000) / 2)
      : undefined;
    try {
      await this.#handler(delivery, { signal: this.#stop.signal });
      this.#failuresInRow = 0;
      this.#remember(message.id);
      await delivery.ack().catch(() => undefined);
    } catch (error) {
      this.#failuresInRow += 1;
      const breaker = this.#o.circuitBreaker;
      if (breaker && this.#failuresInRow >= breaker.failures) this.#trip(breaker.cooldownMs);
      const reason = error instanceof Error ? error.message : String(error);
      await delivery.nack({ delaySeconds: this.#o.nackDelaySeconds, reason }).catch(() => undefined);
    } finally {
      clearInterval(heartbeat);
      this.#live.delete(message.id);
    }
  }

  /** The circuit breaker opens: stop pulling, give back what waits, come back after the cooldown. */
  #trip(cooldownMs: number): void {
    this.#failuresInRow = 0;
    this.#breakerUntil = Date.now() + cooldownMs;
    for (const m of this.#queue.splice(0)) {
      this.#live.delete(m.id);
      if (this.#o.ack === 'manual') void this.#settler.nack(m.receipt, { delaySeconds: 0 }).catch(() => undefined);
    }
    this.#hooks.emit({ state: 'reconnecting', transport: this.#transport, reason: 'CircuitOpen' });
    this.#session?.close();
  }

  #remember(id: string): void {
    if (!this.#seen) return;
    this.#seen.add(id);
    if (this.#seen.size > this.#seenMax) this.#seen.delete(this.#seen.values().next().value!);
  }

  #wakeRoom(): void {
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }
}
