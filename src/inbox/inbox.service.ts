// The push role: clients receive from their delivery queue by long poll or over an SSE stream.
// A waiting receiver registers before it looks, so a wake-up between the look and the wait is
// never missed; the inbox poller covers what no signal announces (delays and leases running out).
import { randomBytes } from 'node:crypto';
import type { DeliveryLatencyRecorder } from '../analytics/delivery-latency.ts';
import type { Db } from '../db/database.ts';
import type { Waiters } from '../queue/waiters.ts';
import {
  ackDeliveries, claimDeliveries, releaseUnseenStreamLeases, type ClaimedDelivery, type ClaimOptions,
} from './inbox.repository.ts';
import { RECEIPT_PATTERN, RECEIVE_MAX, type InboxMessage } from './inbox.schemas.ts';

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

/** SSE event ids are <stream id>:<event number>. */
const EVENT_ID_PATTERN = /^([A-Za-z0-9_-]{8,32}):(\d{1,9})$/;

export class InboxService {
  readonly #db: Db;
  readonly #waiters: Waiters;
  readonly #latency: DeliveryLatencyRecorder;

  constructor(db: Db, waiters: Waiters, latency: DeliveryLatencyRecorder) {
    this.#db = db;
    this.#waiters = waiters;
    this.#latency = latency;
  }

  /** Long poll: returns as soon as anything is visible, or an empty list after waitSeconds. */
  async receive(clientId: string, o: ReceiveOptions, signal: AbortSignal): Promise<InboxMessage[]> {
    const deadline = Date.now() + o.waitSeconds * 1000;
    for (;;) {
      const waiting = this.#waiters.register(clientId, deadline - Date.now(), signal);
      const rows = await this.#claim({ clientId, max: o.max, visibilitySeconds: o.visibilitySeconds });
      if (rows.length > 0 || Date.now() >= deadline || signal.aborted) {
        waiting.cancel();
        return rows.map(toInboxMessage);
      }
      if ((await waiting.done) !== 'woken') return [];
      if (o.stillAuthorized && !(await o.stillAuthorized())) return [];
    }
  }

  async ack(clientId: string, receipts: string[]): Promise<{ acked: number; not_acked: string[] }> {
    const parsed = receipts.map((receipt) => {
      const [, messageId, count] = RECEIPT_PATTERN.exec(receipt)!;
      return { receipt, messageId: messageId!, receiveCount: Number(count) };
    });
    const acked = new Set(await ackDeliveries(this.#db, clientId, parsed));
    const notAcked = parsed.filter((p) => !acked.has(p.messageId)).map((p) => p.receipt);
    return { acked: acked.size, not_acked: notAcked };
  }

  /**
   * Streams the client's messages until the signal aborts. Every event carries an id; a client
   * that reconnects with the last id it saw gets at once what the old stream sent after it.
   */
  async stream(clientId: string, o: StreamOptions, out: StreamOutput, signal: AbortSignal): Promise<StreamEnd> {
    const resume = EVENT_ID_PATTERN.exec(o.lastEventId ?? '');
    if (resume) await releaseUnseenStreamLeases(this.#db, clientId, resume[1]!, Number(resume[2]));
    const owner = randomBytes(9).toString('base64url');
    let seq = 0;
    let lastWrite = Date.now();
    while (!signal.aborted) {
      if (o.stillAuthorized && !(await o.stillAuthorized())) return 'unauthorized';
      const waiting = this.#waiters.register(clientId, o.heartbeatMs - (Date.now() - lastWrite), signal);
      const rows = await this.#claim({
        clientId,
        max: Math.min(o.prefetch, RECEIVE_MAX),
        visibilitySeconds: o.visibilitySeconds,
        lease: { owner, seqBefore: seq },
        autoAck: o.autoAck,
      });
      if (rows.length > 0) {
        waiting.cancel();
        for (const row of rows) {
          seq = row.lease_seq ?? seq + 1;
          await out.send(`${owner}:${seq}`, toInboxMessage(row));
        }
        lastWrite = Date.now();
        continue;
      }
      if ((await waiting.done) === 'timeout') {
        await out.heartbeat();
        lastWrite = Date.now();
      }
    }
    return 'aborted';
  }

  async #claim(options: ClaimOptions): Promise<ClaimedDelivery[]> {
    const rows = await claimDeliveries(this.#db, options);
    const now = Date.now();
    for (const row of rows) if (row.receive_count === 1) this.#latency.record(row.to_address, row.created_at, now);
    return rows;
  }
}

function toInboxMessage(row: ClaimedDelivery): InboxMessage {
  return {
    id: row.id,
    receipt: `${row.id}.${row.receive_count}`,
    from: row.sender,
    to: row.to_address,
    type: row.type,
    payload: row.payload as InboxMessage['payload'],
    headers: row.headers ?? {},
    priority: row.priority,
    receive_count: row.receive_count,
    sent_at: row.created_at.toISOString(),
    group_id: row.group_id,
    correlation_id: row.correlation_id,
    reply_to: row.reply_to,
  };
}
