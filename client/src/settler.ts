// Acks, nacks and lease extensions, batched: each call joins a pending batch that is sent when it
// holds the most receipts one call may carry, or after a short timer, whichever comes first. One
// round trip then settles many messages. The batch goes over the open WebSocket when there is one,
// else over HTTP (the same bodies, the same answers).
import type { Acked, Extended, Nacked } from './types.ts';

/** Receipts per call: the service's limit (RECEIPTS_MAX). */
export const SETTLE_BATCH_MAX = 100;

export type SettleKind = 'ack' | 'nack' | 'extend';
export interface SettleBody {
  receipts: string[];
  delay_seconds?: number;
  reason?: string;
  visibility?: number;
}
export type SettleChannel = (kind: SettleKind, body: SettleBody) => Promise<Acked | Nacked | Extended>;

interface Pending {
  kind: SettleKind;
  extra: Omit<SettleBody, 'receipts'>;
  receipts: string[];
  waiters: { resolve: (settled: boolean) => void; reject: (error: unknown) => void; receipt: string }[];
}

export class Settler {
  readonly #channel: () => SettleChannel;
  readonly #flushMs: number;
  readonly #pending = new Map<string, Pending>();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** channel: picked at send time, so a batch goes over whatever transport is open then. */
  constructor(channel: () => SettleChannel, flushMs: number) {
    this.#channel = channel;
    this.#flushMs = flushMs;
  }

  /** Resolves true when the service settled this receipt, false when it no longer matched a delivery. */
  ack(receipt: string): Promise<boolean> {
    return this.#add('ack', {}, receipt);
  }

  nack(receipt: string, options: { delaySeconds?: number; reason?: string } = {}): Promise<boolean> {
    return this.#add('nack', { ...(options.delaySeconds === undefined ? {} : { delay_seconds: options.delaySeconds }), ...(options.reason === undefined ? {} : { reason: options.reason.slice(0, 1000) }) }, receipt);
  }

  extend(receipt: string, visibilitySeconds: number): Promise<boolean> {
    return this.#add('extend', { visibility: visibilitySeconds }, receipt);
  }

  /** Sends everything pending now and waits for every batch in flight. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const key of [...this.#pending.keys()]) this.#send(key);
    await Promise.allSettled([...this.#inFlight]);
  }

  #add(kind: SettleKind, extra: Omit<SettleBody, 'receipts'>, receipt: string): Promise<boolean> {
    const key = `${kind} ${JSON.stringify(extra)}`;
    let pending = this.#pending.get(key);
    if (!pending) this.#pending.set(key, (pending = { kind, extra, receipts: [], waiters: [] }));
    const settled = new Promise<boolean>((resolve, reject) => pending.waiters.push({ resolve, reject, receipt }));
    pending.receipts.push(receipt);
    if (pending.receipts.length >= SETTLE_BATCH_MAX) this.#send(key);
    else this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs);
    return settled;
  }

  #send(key: string): void {
    const pending = this.#pending.get(key);
    if (!pending) return;
    this.#pending.delete(key);
    const sent = this.#channel()(pending.kind, { ...pending.extra, receipts: pending.receipts }).then((result) => {
      const missed = new Set('not_acked' in result ? result.not_acked : 'not_nacked' in result ? result.not_nacked : result.not_extended);
      for (const w of pending.waiters) w.resolve(!missed.has(w.receipt));
    }, (error: unknown) => {
      for (const w of pending.waiters) w.reject(error);
    });
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
  }
}
