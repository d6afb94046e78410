// Receivers waiting for work under a key (a client id), woken in memory. A wake with no keys wakes
// everyone: what a NOTIFY with an unreadable payload, or a listener reconnect, asks for.
//
// Register before looking for work, await after finding none: a wake that lands in between is
// then not missed.
//
// Every idle stream holds one registration for as long as it is idle, and makes a new one per
// heartbeat and per message, so a registration is one small object: its methods live on the
// prototype, it is its own abort listener and its timer's argument, and a key with one waiter maps
// to it directly, without a Set. It used to be four closures (finish, cancel, the timeout, the
// abort), their contexts and a Set per key. Its abort listener goes through abort-listeners.ts, so
// a stream's signal has one real listener for all its waits.

import { listenForAbort, stopListeningForAbort } from './abort-listeners.ts';

export type WaitOutcome = 'woken' | 'timeout' | 'aborted';

export interface Registration {
  done: Promise<WaitOutcome>;
  cancel(): void;
}

type Entry = Waiter | Set<Waiter>;

const ALREADY_ABORTED: Registration = { done: Promise.resolve('aborted'), cancel: () => undefined };

export class Waiters {
  readonly #byKey = new Map<string, Entry>();

  register(key: string, timeoutMs: number, signal?: AbortSignal): Registration {
    if (signal?.aborted) return ALREADY_ABORTED;
    const waiter = new Waiter(this.#byKey, key, timeoutMs, signal);
    const entry = this.#byKey.get(key);
    if (entry === undefined) this.#byKey.set(key, waiter);
    else if (entry instanceof Set) entry.add(waiter);
    else this.#byKey.set(key, new Set([entry, waiter]));
    return waiter;
  }

  wake(keys: Iterable<string> | undefined): void {
    const woken: Waiter[] = [];
    const entries = keys === undefined ? this.#byKey.values() : Array.from(keys, (key) => this.#byKey.get(key));
    // a loop, not push(...set): spreading tens of thousands of waiters as arguments overflows the stack
    for (const entry of entries) {
      if (entry instanceof Set) for (const waiter of entry) woken.push(waiter);
      else if (entry !== undefined) woken.push(entry);
    }
    finishInSlices(woken);
  }

  /** Keys somebody is waiting on. */
  keys(): string[] {
    return [...this.#byKey.keys()];
  }

  get size(): number {
    let n = 0;
    for (const entry of this.#byKey.values()) n += entry instanceof Set ? entry.size : 1;
    return n;
  }
}

class Waiter implements Registration {
  readonly done: Promise<WaitOutcome>;
  readonly #byKey: Map<string, Entry>;
  readonly #key: string;
  readonly #signal: AbortSignal | undefined;
  readonly #timer: NodeJS.Timeout;
  #resolve!: (outcome: WaitOutcome) => void;

  constructor(byKey: Map<string, Entry>, key: string, timeoutMs: number, signal: AbortSignal | undefined) {
    this.#byKey = byKey;
    this.#key = key;
    this.#signal = signal;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.#timer = setTimeout(timedOut, Math.max(0, timeoutMs), this);
    if (signal) listenForAbort(signal, this);
  }

  cancel(): void {
    this.finish('aborted');
  }

  /** The signal aborted. */
  handleEvent(): void {
    this.finish('aborted');
  }

  /** Settles once; later calls (a wake after a cancel, a timeout after a wake) do nothing. */
  finish(outcome: WaitOutcome): void {
    if (!this.#leave()) return;
    clearTimeout(this.#timer);
    if (this.#signal) stopListeningForAbort(this.#signal, this);
    this.#resolve(outcome);
  }

  /** Takes this waiter off its key; false when it already was. */
  #leave(): boolean {
    const entry = this.#byKey.get(this.#key);
    if (entry === this) {
      this.#byKey.delete(this.#key);
      return true;
    }
    if (!(entry instanceof Set) || !entry.delete(this)) return false;
    if (entry.size === 0) this.#byKey.delete(this.#key);
    return true;
  }
}

function timedOut(waiter: Waiter): void {
  waiter.finish('timeout');
}

/**
 * Wakes at most WAKE_SLICE waiters per event-loop turn. A broadcast wakes thousands of streams at
 * once; woken all in one turn, every one of them reaches its claim before the first claim is sent
 * (a claim's query goes out from a later microtask), so the database idles while JavaScript wakes
 * them, then JavaScript idles while the database claims. In slices, the first claims are in the
 * database while the next slice wakes, and their rows are written while later ones claim.
 */
export const WAKE_SLICE = 500;

function finishInSlices(woken: Waiter[], from = 0): void {
  const end = Math.min(woken.length, from + WAKE_SLICE);
  for (let i = from; i < end; i++) woken[i]!.finish('woken');
  if (end < woken.length) setImmediate(() => finishInSlices(woken, end));
}
