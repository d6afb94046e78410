// Capped exponential backoff with full jitter: a random wait between 0 and min(cap, base * 2^n),
// so that many clients refused at once do not come back at once. A Retry-After from the service
// is a floor: the wait is never shorter than what it asked for.

export interface RetryOptions {
  /** Attempts in all, the first included (default 5; 1 turns retries off). */
  attempts?: number;
  /** Base of the exponential, ms (default 100). */
  baseMs?: number;
  /** Longest wait, ms (default 10,000). */
  capMs?: number;
}

export const RETRY_DEFAULTS: Required<RetryOptions> = { attempts: 5, baseMs: 100, capMs: 10_000 };

export function backoffMs(attempt: number, o: Required<RetryOptions>, retryAfterMs = 0): number {
  const ceiling = Math.min(o.capMs, o.baseMs * 2 ** attempt);
  return Math.max(retryAfterMs, Math.random() * ceiling);
}

/** Sleeps, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
