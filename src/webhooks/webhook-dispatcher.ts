// The push role's webhook consumer: for every enabled endpoint it leases the client's deliveries
// (the same claim, leases, receive counts and dead letters as a long poll), POSTs them signed, acks
// on 2xx and nacks with the client's backoff otherwise. Each endpoint has up to `concurrency`
// requests in flight (slots) and its own circuit breaker: while the breaker is open nothing is
// leased (messages wait in the queue, their receive counts untouched); once it half-opens, one
// slot leases one message as the probe. 410 Gone disables the endpoint.
import { createHash } from 'node:crypto';
import { BrokenCircuitError, type CircuitBreakerPolicy } from 'cockatiel';
import type { Db } from '../db/database.ts';
import { ackDeliveries, claimDeliveries, nackDeliveries, type ClaimedRow } from '../inbox/inbox.repository.ts';
import { toInboxMessage } from '../inbox/inbox.service.ts';
import type { Logger } from '../logger.ts';
import { Worker } from '../queue/worker.ts';
import { CircuitState, createEndpointBreaker, type BreakerSettings } from './circuit-breaker.ts';
import { WebhookDeliveryError, type WebhookSender } from './webhook-sender.ts';
import {
  disableWebhookEndpoint, hasVisibleDelivery, listActiveWebhookEndpoints, recordCircuitState, type CircuitStateName,
  type WebhookEndpointRow,
} from './webhook.repository.ts';

/** A lease outlives the request by this much, so a slow answer is never raced by a redelivery. */
const LEASE_MARGIN_SECONDS = 30;

export interface CircuitEvent {
  client_id: string;
  client: string;
  url: string;
  state: CircuitStateName | 'disabled';
  reason: string | null;
  at: string;
}

export interface WebhookDispatcherOptions {
  db: Db;
  sender: WebhookSender;
  breaker: BreakerSettings;
  policyDefaults: { maxReceives: number; backoffBaseMs: number; backoffCapMs: number };
  pollMs: number;
  log: Logger;
  /** Every circuit transition and every endpoint disabled (published on topic:switchyard.circuits). */
  onCircuit?: (event: CircuitEvent) => Promise<void>;
  /** Each attempt's outcome, per client (metrics). */
  onOutcome?: (clientId: string, outcome: 'acked' | 'failed' | 'gone', messages: number) => void;
}

interface Endpoint {
  row: WebhookEndpointRow;
  breaker: CircuitBreakerPolicy;
  slots: number;
  /** A slot is checking whether to probe: the others stay idle meanwhile. */
  probing: boolean;
  /** The transitions being recorded, one after another: half_open then open must not land as open then half_open. */
  transitions: Promise<void>;
}

const NOTHING_TO_SEND = new Error('nothing to send'); // not a WebhookDeliveryError: the breaker does not count it

export class WebhookDispatcher {
  readonly #o: WebhookDispatcherOptions;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #running = new Set<Promise<unknown>>();
  /** Endpoints disabled by a 410 since the list was last read. */
  readonly #gone = new Set<string>();
  #rows: WebhookEndpointRow[] | undefined;
  #refreshedAt = 0;
  #stopped = false;

  constructor(options: WebhookDispatcherOptions) {
    this.#o = options;
  }

  /** Circuit state per endpoint this process runs (metrics). */
  circuits(): { clientId: string; state: CircuitStateName }[] {
    return [...this.#endpoints.values()].map((e) => ({ clientId: e.row.client_id, state: stateName(e.breaker.state) }));
  }

  /**
   * Starts a sending loop in every free slot of every endpoint; returns how many it started. The
   * endpoints are read again when `refresh` (a wake-up between polls uses the list it has, so a
   * busy queue's wake-ups do not each cost a query).
   */
  async runOnce(refresh = true): Promise<number> {
    if (this.#stopped) return 0;
    if (refresh || this.#rows === undefined) {
      this.#rows = await listActiveWebhookEndpoints(this.#o.db);
      this.#refreshedAt = Date.now();
      const active = new Set(this.#rows.map((row) => row.client_id));
      for (const id of this.#endpoints.keys()) if (!active.has(id)) this.#endpoints.delete(id);
    }
    let started = 0;
    for (const row of this.#rows) {
      if (this.#gone.has(row.client_id)) continue; // disabled by a 410 since the list was read
      const endpoint = this.#endpoints.get(row.client_id) ?? this.#add(row);
      endpoint.row = row; // url, secrets and limits as they are now
      while (endpoint.slots < row.concurrency) {
        endpoint.slots += 1;
        started += 1;
        this.#track(this.#slot(endpoint).finally(() => (endpoint.slots -= 1)));
      }
    }
    if (refresh) this.#gone.clear();
    return started;
  }

  /** Waits for every sending loop and circuit event in flight. */
  async settle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  createWorker(): Worker {
    return new Worker({
      name: 'push:webhooks',
      pollMs: this.#o.pollMs,
      log: this.#o.log,
      runOnce: async () => ({ processed: await this.runOnce(Date.now() - this.#refreshedAt >= this.#o.pollMs), more: false }),
    });
  }

  async stop(timeoutMs: number): Promise<void> {
    this.#stopped = true;
    await Promise.race([this.settle(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  #add(row: WebhookEndpointRow): Endpoint {
    const breaker = createEndpointBreaker(this.#o.breaker);
    const endpoint: Endpoint = { row, breaker, slots: 0, probing: false, transitions: Promise.resolve() };
    const emit = (state: CircuitStateName) => () => {
      const reason = state === 'open' ? (breaker.lastFailure && 'error' in breaker.lastFailure ? breaker.lastFailure.error.message : null) : null;
      endpoint.transitions = endpoint.transitions.then(() => this.#circuit(endpoint, state, reason)); // #circuit never rejects
      this.#track(endpoint.transitions);
    };
    breaker.onBreak(emit('open'));
    breaker.onHalfOpen(emit('half_open'));
    breaker.onReset(emit('closed'));
    this.#endpoints.set(row.client_id, endpoint);
    return endpoint;
  }

  /** Sends until the queue has nothing visible, the breaker refuses, or the endpoint goes. */
  async #slot(endpoint: Endpoint): Promise<void> {
    try {
      while (!this.#stopped && this.#endpoints.get(endpoint.row.client_id) === endpoint && (await this.#attempt(endpoint)));
    } catch (error) {
      this.#o.log.warn('webhook delivery failed', { client_id: endpoint.row.client_id, error });
    }
  }

  /** One lease and POST; true when it handled messages (so the slot goes on). */
  async #attempt(endpoint: Endpoint): Promise<boolean> {
    const { row, breaker } = endpoint;
    const probing = breaker.state !== CircuitState.Closed;
    if (probing && endpoint.probing) return false;
    endpoint.probing = probing;
    try {
      return await this.#leaseAndSend(endpoint, probing);
    } finally {
      if (probing) endpoint.probing = false;
    }
  }

  async #leaseAndSend(endpoint: Endpoint, probing: boolean): Promise<boolean> {
    const { row, breaker } = endpoint;
    // Open or half-open: lease only when something waits, and only if the breaker lets the probe through.
    if (probing && !(await hasVisibleDelivery(this.#o.db, row.client_id))) return false;
    let leased: ClaimedRow[] = [];
    try {
      await breaker.execute(async () => {
        leased = await this.#lease(row, probing ? 1 : row.batch_size);
        if (leased.length === 0) throw NOTHING_TO_SEND;
        await this.#send(row, leased);
      });
    } catch (error) {
      if (error === NOTHING_TO_SEND || error instanceof BrokenCircuitError) return false;
      if (!(error instanceof WebhookDeliveryError)) throw error;
      const receipts = leased.map(receiptOf);
      await nackDeliveries(this.#o.db, row.client_id, receipts, { delaySeconds: undefined, reason: `webhook ${error.message}`, defaults: this.#o.policyDefaults });
      if (error.status === 410) {
        await disableWebhookEndpoint(this.#o.db, row.client_id, 'the endpoint answered 410 Gone');
        this.#endpoints.delete(row.client_id);
        this.#gone.add(row.client_id);
        this.#o.onOutcome?.(row.client_id, 'gone', leased.length);
        await this.#o.onCircuit?.(event(row, 'disabled', 'the endpoint answered 410 Gone'));
        return false;
      }
      this.#o.onOutcome?.(row.client_id, 'failed', leased.length);
      return true;
    }
    await ackDeliveries(this.#o.db, row.client_id, leased.map(receiptOf));
    this.#o.onOutcome?.(row.client_id, 'acked', leased.length);
    return true;
  }

  async #lease(row: WebhookEndpointRow, max: number): Promise<ClaimedRow[]> {
    const rows = await claimDeliveries(this.#o.db, {
      clientId: row.client_id, max, maxReceives: this.#o.policyDefaults.maxReceives,
      visibilitySeconds: Math.ceil(row.timeout_ms / 1000) + LEASE_MARGIN_SECONDS,
    });
    return rows.filter((r) => r.outcome === 'delivered');
  }

  async #send(row: WebhookEndpointRow, leased: ClaimedRow[]): Promise<void> {
    const messages = leased.map((r) => {
      const { receipt: _receipt, ...message } = toInboxMessage(r);
      return message;
    });
    const body = JSON.stringify({ messages });
    // The same id for a retry of the same messages, so receivers can deduplicate by webhook-id.
    const id = leased.length === 1 ? `msg_${leased[0]!.id}`
      : `batch_${createHash('sha256').update(leased.map((r) => r.id).sort().join(',')).digest('hex').slice(0, 32)}`;
    const secrets = [row.secret, ...(row.previous_secret && row.previous_secret_until && row.previous_secret_until > new Date() ? [row.previous_secret] : [])];
    await this.#o.sender.send({ url: row.url, secrets, timeoutMs: row.timeout_ms }, id, body, Math.floor(Date.now() / 1000));
  }

  async #circuit(endpoint: Endpoint, state: CircuitStateName, reason: string | null): Promise<void> {
    try {
      await recordCircuitState(this.#o.db, endpoint.row.client_id, state, reason);
      await this.#o.onCircuit?.(event(endpoint.row, state, reason));
    } catch (error) {
      this.#o.log.warn('could not record a circuit transition', { client_id: endpoint.row.client_id, state, error });
    }
  }

  #track(promise: Promise<unknown>): void {
    this.#running.add(promise);
    void promise.finally(() => this.#running.delete(promise));
  }
}

function receiptOf(row: ClaimedRow) {
  return { messageId: row.id, receiveCount: row.receive_count };
}

function stateName(state: CircuitState): CircuitStateName {
  return state === CircuitState.Open || state === CircuitState.Isolated ? 'open' : state === CircuitState.HalfOpen ? 'half_open' : 'closed';
}

function event(row: WebhookEndpointRow, state: CircuitEvent['state'], reason: string | null): CircuitEvent {
  return { client_id: row.client_id, client: row.client_name, url: row.url, state, reason, at: new Date().toISOString() };
}
