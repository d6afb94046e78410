// The push role: clients receive from their delivery queue by long poll or over an SSE stream,
// then ack, nack or extend by receipt. A waiting receiver registers before it looks, so a wake-up
// between the look and the wait is never missed; the inbox poller covers what no signal
// announces (delays and leases running out).
import { randomBytes } from 'node:crypto';
import type { DeliveryRecorder } from '../analytics/delivery-recorder.ts';
import type { Db } from '../db/database.ts';
import { toOutgoingMessage } from '../messages/outgoing-message.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Waiters } from '../queue/waiters.ts';
import { ClaimBatcher } from './claim-batcher.ts';
import {
  ackDeliveries, extendLeases, nackDeliveries, releaseStreamLeases, releaseUnseenStreamLeases,
  type ClaimedRow, type ClaimOptions, type Receipt,
} from './inbox.repository.ts';
import { RECEIPT_PATTERN, RECEIVE_MAX, type InboxMessage } from './inbox.schemas.ts';
import { SlowConsumerError } from './slow-consumer.ts';

export interface ReceiveOptions {
  max: number;
  visibilitySeconds: number;
  waitSeconds: number;
  /** Asked before claiming again after a wait: false ends the poll empty (the token was revoked). */
  stillAuthorized?: () => Promise<boolean>;
}

export interface StreamOptions {
  visibilitySeconds: number;
  prefetch: number;
  autoAck: boolean;
  heartbeatMs: number;
  /** Last-Event-ID of the client's previous stream. */
  lastEventId: string | undefined;
  /** Asked on every turn of the loop (at least once per heartbeat): false ends the stream. */
  stillAuthorized?: () => Promise<boolean>;
}

/** Why a stream ended: the signal aborted, or the token stopped being valid. */
export type StreamEnd = 'aborted' | 'unauthorized';

export interface StreamOutput {
  send(eventId: string, message: InboxMessage): Promise<void>;
  heartbeat(): Promise<void>;
}

export interface QueuePolicyDefaults {
  maxReceives: number;
  backoffBaseMs: number;
  backoffCapMs: number;
}

/** Stream event ids (SSE and WebSocket) are <stream id>:<event number>. */
const EVENT_ID_PATTERN = /^([A-Za-z0-9_-]{8,32}):(\d{1,9})$/;

export class InboxService {
  readonly #db: Db;
  readonly #waiters: Waiters;
  readonly #recorder: DeliveryRecorder;
  readonly #defaults: QueuePolicyDefaults;
  readonly #onChange: (clientId: string) => void;
  readonly #metrics: Metrics | undefined;
  readonly #claims: ClaimBatcher;

  /** onChange: a delivery of the client may have become visible or left a stream's prefetch. */
  readonly #now: () => Date | undefined;

  constructor(
    db: Db, waiters: Waiters, recorder: DeliveryRecorder, defaults: QueuePolicyDefaults, onChange: (clientId: string) => void,
    metrics?: Metrics,
    /** Injected clock for tests: every lease statement takes it; the database's now() otherwise. */
    now?: () => Date,
  ) {
    this.#now = now ?? (() => undefined);
    this.#db = db;
    this.#waiters = waiters;
    this.#recorder = recorder;
    this.#defaults = defaults;
    this.#onChange = onChange;
    this.#metrics = metrics;
    this.#claims = new ClaimBatcher(db);
  }

  /** Long poll: returns as soon as anything is visible, or an empty list after waitSeconds. */
  async receive(clientId: string, o: ReceiveOptions, signal: AbortSignal): Promise<InboxMessage[]> {
    const deadline = Date.now() + o.waitSeconds * 1000;
    for (;;) {
      const waiting = this.#waiters.register(clientId, deadline - Date.now(), signal);
      const { delivered, skipped } = await this.#claim({ clientId, max: o.max, visibilitySeconds: o.visibilitySeconds });
      if (delivered.length > 0 || Date.now() >= deadline || signal.aborted) {
        waiting.cancel();
        return delivered.map(toInboxMessage);
      }
      if (skipped > 0) {
        waiting.cancel(); // expired or dead-lettered rows made room: look again at once
        continue;
      }
      if ((await waiting.done) !== 'woken') return [];
      if (o.stillAuthorized && !(await o.stillAuthorized())) return [];
    }
  }

  // Each answer lists the receipts that matched no current delivery (already acked, or received
  // again since: a receipt is good for one delivery only) rather than failing the whole call.

  async ack(clientId: string, receipts: string[]): Promise<{ acked: number; not_acked: string[] }> {
    const parsed = parseReceipts(receipts);
    const started = performance.now();
    const acked = new Set(await ackDeliveries(this.#db, clientId, parsed, this.#now()));
    this.#metrics?.ackSeconds.observe((performance.now() - started) / 1000);
    this.#metrics?.acked.inc(acked.size);
    if (acked.size > 0) this.#onChange(clientId);
    return { acked: acked.size, not_acked: unmatched(parsed, acked) };
  }

  async nack(clientId: string, receipts: string[], delaySeconds: number | undefined, reason: string | undefined) {
    const parsed = parseReceipts(receipts);
    const started = performance.now();
    const rows = await nackDeliveries(this.#db, clientId, parsed, { delaySeconds, reason, defaults: this.#defaults, now: this.#now() });
    this.#metrics?.nackSeconds.observe((performance.now() - started) / 1000);
    if (rows.length > 0) this.#onChange(clientId);
    const deadLettered = rows.filter((r) => r.outcome === 'dead_lettered').map((r) => r.message_id);
    this.#metrics?.nacked.inc(rows.length - deadLettered.length);
    this.#metrics?.deadLettered.max_receives.inc(deadLettered.length);
    return {
      nacked: rows.length - deadLettered.length,
      dead_lettered: deadLettered,
      not_nacked: unmatched(parsed, new Set(rows.map((r) => r.message_id))),
    };
  }

  async extend(clientId: string, receipts: string[], visibilitySeconds: number): Promise<{ extended: number; not_extended: string[] }> {
    const parsed = parseReceipts(receipts);
    const started = performance.now();
    const extended = new Set(await extendLeases(this.#db, clientId, parsed, visibilitySeconds, this.#now()));
    this.#metrics?.extendSeconds.observe((performance.now() - started) / 1000);
    return { extended: extended.size, not_extended: unmatched(parsed, extended) };
  }

  /**
   * Streams the client's messages until the signal aborts, never more than `prefetch` unacked at
   * once. Every event carries an id; a client that reconnects with the last id it saw gets at
   * once what the old stream sent after it. This is the one stream core of every transport (SSE,
   * WebSocket): they differ only in how `out` frames what it is given.
   */
  async stream(clientId: string, o: StreamOptions, out: StreamOutput, signal: AbortSignal): Promise<StreamEnd> {
    const owner = randomBytes(9).toString('base64url');
    // One async function, not a wrapper awaiting the loop: every idle stream holds each suspended
    // async function (a generator object, its registers and a promise) for as long as it is open.
    try {
      const resume = EVENT_ID_PATTERN.exec(o.lastEventId ?? '');
      if (resume && (await releaseUnseenStreamLeases(this.#db, clientId, resume[1]!, Number(resume[2]), this.#now())) > 0) {
        this.#onChange(clientId);
      }
      let seq = 0;
      let lastWrite = Date.now();
      // Look in the queue at the start and whenever woken; a heartbeat alone is no reason to: an
      // idle stream then costs no query at all, and the poller wakes it for what no signal
      // announces.
      let look = true;
      while (!signal.aborted) {
        if (o.stillAuthorized && !(await o.stillAuthorized())) return 'unauthorized';
        const waiting = this.#waiters.register(clientId, o.heartbeatMs - (Date.now() - lastWrite), signal);
        if (look) {
          const max = Math.min(o.prefetch, RECEIVE_MAX);
          const { delivered, skipped } = await this.#claim({
            clientId,
            max,
            visibilitySeconds: o.visibilitySeconds,
            lease: { owner, seqBefore: seq, prefetch: o.autoAck ? RECEIVE_MAX : o.prefetch },
            autoAck: o.autoAck,
          });
          for (const row of delivered) {
            if (signal.aborted) break;
            seq = row.lease_seq ?? seq + 1;
            await out.send(`${owner}:${seq}`, toInboxMessage(row));
          }
          if (signal.aborted) {
            // The connection closed while this claim was out (a resume's own release can wake the
            // stream it replaces before that stream has seen its close): what it did not send was
            // never seen, so it goes back now, uncounted, not after the visibility timeout.
            if (!o.autoAck && (await releaseUnseenStreamLeases(this.#db, clientId, owner, seq, this.#now())) > 0) this.#onChange(clientId);
            break;
          }
          if (delivered.length > 0) lastWrite = Date.now();
          // A full batch may have more behind it, and expired or dead-lettered rows made room: look
          // again at once. A short one took all there was (or all the prefetch allows): the
          // registration made before the claim catches whatever comes since, so no second look.
          if (delivered.length === max || skipped > 0) {
            waiting.cancel();
            continue;
          }
        }
        look = (await waiting.done) !== 'timeout';
        if (!look) {
          await out.heartbeat();
          lastWrite = Date.now();
        }
      }
      return 'aborted';
    } catch (error) {
      // A consumer that stopped reading gives back what it holds, for its other connections.
      if (error instanceof SlowConsumerError && (await releaseStreamLeases(this.#db, clientId, owner, this.#now())) > 0) this.#onChange(clientId);
      throw error;
    }
  }

  async #claim(options: Omit<ClaimOptions, 'maxReceives'>): Promise<{ delivered: ClaimedRow[]; skipped: number }> {
    const started = performance.now();
    const rows = await this.#claims.claim({ ...options, maxReceives: this.#defaults.maxReceives, now: this.#now() });
    const now = Date.now();
    const delivered: ClaimedRow[] = [];
    let expired = 0;
    for (const row of rows) {
      if (row.outcome === 'delivered') {
        delivered.push(row);
        if (row.receive_count === 1) this.#recorder.recordFirstDelivery(row.to_address, row.created_ms, now);
      } else if (row.outcome === 'expired') {
        expired += 1;
        this.#recorder.recordExpired(row.to_address, row.created_ms);
      } else {
        this.#recorder.recordDeadLettered(row.to_address, row.created_ms);
      }
    }
    if (this.#metrics) {
      this.#metrics.receiveSeconds.observe((performance.now() - started) / 1000);
      this.#metrics.delivered.inc(delivered.length);
      this.#metrics.expired.inc(expired);
      this.#metrics.deadLettered.max_receives.inc(rows.length - delivered.length - expired);
      if (options.autoAck) this.#metrics.acked.inc(delivered.length); // deleted as they are sent
    }
    return { delivered, skipped: rows.length - delivered.length };
  }
}

function parseReceipts(receipts: string[]): (Receipt & { receipt: string })[] {
  return receipts.map((receipt) => {
    const [, messageId, count] = RECEIPT_PATTERN.exec(receipt)!;
    return { receipt, messageId: messageId!, receiveCount: Number(count) };
  });
}

function unmatched(parsed: (Receipt & { receipt: string })[], matched: Set<string>): string[] {
  return parsed.filter((p) => !matched.has(p.messageId)).map((p) => p.receipt);
}

export function toInboxMessage(row: ClaimedRow): InboxMessage {
  const { id, ...message } = toOutgoingMessage(row, row.created_ms);
  return {
    id,
    receipt: `${id}.${row.receive_count}`, // right after the id on the wire, as it always was
    ...message,
    priority: row.priority,
    receive_count: row.receive_count,
    group_id: row.group_id,
    correlation_id: row.correlation_id,
    reply_to: row.reply_to,
    ...(row.via === null ? {} : { via: row.via }),
  };
}
