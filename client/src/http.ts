// Requests to the service's HTTP API: JSON in and out, the bearer token from the token source,
// problems turned into SwitchyardError, and retries of what a retry may cure (429, 503, network
// failures) with backoff and full jitter, honouring Retry-After. A 401 asks the token source for a
// fresh token once before giving up (rotation).
import { backoffMs, RETRY_DEFAULTS, sleep, type RetryOptions } from './backoff.ts';
import { isRetryable, SwitchyardError } from './errors.ts';
import type { Problem } from './types.ts';

/** A token, or a function that returns the current one (called before each connection and request). */
export type TokenSource = string | ((options: { refresh: boolean }) => string | Promise<string>);

export interface HttpOptions {
  baseUrl: string;
  token: TokenSource;
  fetch?: typeof fetch;
  retry?: RetryOptions;
}

export interface CallOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** False: one attempt only (for calls that are not safe to repeat). */
  retry?: boolean;
}

export class HttpApi {
  readonly baseUrl: string;
  readonly #token: TokenSource;
  readonly #fetch: typeof fetch;
  readonly #retry: Required<RetryOptions>;

  constructor(o: HttpOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.#token = o.token;
    this.#fetch = o.fetch ?? globalThis.fetch.bind(globalThis);
    this.#retry = { ...RETRY_DEFAULTS, ...o.retry };
  }

  /** The current token; refresh asks the provider for a new one (after a 401 or a TokenInvalid close). */
  async token(refresh = false): Promise<string> {
    return typeof this.#token === 'string' ? this.#token : this.#token({ refresh });
  }

  get canRefreshToken(): boolean {
    return typeof this.#token !== 'string';
  }

  async call<T>(method: string, path: string, body: unknown, o: CallOptions = {}): Promise<T> {
    const attempts = o.retry === false ? 1 : this.#retry.attempts;
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once<T>(method, path, body, o, refreshed);
      } catch (error) {
        if (o.signal?.aborted) throw o.signal.reason;
        if (error instanceof SwitchyardError && error.status === 401 && this.canRefreshToken && !refreshed) {
          refreshed = true;
          continue;
        }
        if (!isRetryable(error) || attempt + 1 >= attempts) throw error;
        const retryAfter = error instanceof SwitchyardError ? retryAfterMs(error.problem) : 0;
        await sleep(backoffMs(attempt, this.#retry, retryAfter), o.signal);
      }
    }
  }

  async #once<T>(method: string, path: string, body: unknown, o: CallOptions, refresh: boolean): Promise<T> {
    const token = await this.token(refresh);
    let response: Response;
    try {
      response = await this.#fetch(this.baseUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...o.headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (error) {
      if (o.signal?.aborted) throw o.signal.reason;
      throw new SwitchyardError(0, 'NetworkError', `could not reach ${this.baseUrl}: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
    let problem: Problem;
    try {
      problem = JSON.parse(text) as Problem;
    } catch {
      problem = { type: 'about:blank', title: response.statusText, status: response.status, detail: text.slice(0, 200), code: `Http${response.status}` };
    }
    const retryAfter = response.headers.get('retry-after');
    if (retryAfter !== null) problem.retry_after = retryAfter;
    throw SwitchyardError.fromProblem(problem);
  }
}

/** Retry-After in ms, from the header (kept on the problem) or the WebSocket problem's retry_after. */
export function retryAfterMs(problem: Problem | undefined): number {
  const value = Number(problem?.retry_after);
  return Number.isFinite(value) && value > 0 ? value * 1000 : 0;
}
