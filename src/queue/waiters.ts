// Receivers waiting for work under a key (a client id), woken in memory. A wake with no keys wakes
// everyone: what a NOTIFY with an unreadable payload, or a listener reconnect, asks for.
//
// Register before looking for work, await after finding none: a wake that lands in between is
// then not missed.

export type WaitOutcome = 'woken' | 'timeout' | 'aborted';

export interface Registration {
  done: Promise<WaitOutcome>;
  cancel(): void;
}

export class Waiters {
  readonly #byKey = new Map<string, Set<(outcome: WaitOutcome) => void>>();

  register(key: string, timeoutMs: number, signal?: AbortSignal): Registration {
    if (signal?.aborted) return { done: Promise.resolve('aborted'), cancel: () => undefined };
    let finish!: (outcome: WaitOutcome) => void;
    const done = new Promise<WaitOutcome>((resolve) => {
      let set = this.#byKey.get(key);
      if (!set) this.#byKey.set(key, (set = new Set()));
      const waiters = set;
      finish = (outcome) => {
        if (!waiters.delete(finish)) return;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (waiters.size === 0 && this.#byKey.get(key) === waiters) this.#byKey.delete(key);
        resolve(outcome);
      };
      const onAbort = () => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), Math.max(0, timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      waiters.add(finish);
    });
    return { done, cancel: () => finish('aborted') };
  }

  wait(key: string, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    return this.register(key, timeoutMs, signal).done;
  }

  wake(keys: Iterable<string> | undefined): void {
    const woken: ((outcome: WaitOutcome) => void)[] = [];
    const sets = keys === undefined ? this.#byKey.values() : [...keys].map((key) => this.#byKey.get(key) ?? []);
    // a loop, not push(...set): spreading tens of thousands of waiters as arguments overflows the stack
    for (const waiters of sets) for (const finish of waiters) woken.push(finish);
    finishInSlices(woken);
  }

  /** Keys somebody is waiting on. */
  keys(): string[] {
    return [...this.#byKey.keys()];
  }

  get size(): number {
    let n = 0;
    for (const waiters of this.#byKey.values()) n += waiters.size;
    return n;
  }
}

/**
 * Wakes at most WAKE_SLICE waiters per event-loop turn. A broadcast wakes thousands of streams at
 * once; woken all in one turn, every one of them reaches its claim before the first claim is sent
 * (a claim's query goes out from a later microtask), so the database idles while JavaScript wakes
 * them, then JavaScript idles while the database claims. In slices, the first claims are in the
 * database while the next slice wakes, and their rows are written while later ones claim.
 */
export const WAKE_SLICE = 500;

function finishInSlices(woken: ((outcome: WaitOutcome) => void)[], from = 0): void {
  const end = Math.min(woken.length, from + WAKE_SLICE);
  for (let i = from; i < end; i++) woken[i]!('woken');
  if (end < woken.length) setImmediate(() => finishInSlices(woken, end));
}
