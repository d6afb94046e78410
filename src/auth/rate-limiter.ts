// Per-client rate limits: a token bucket per client id, in this process's memory. A bucket holds
// up to `burst` tokens and refills at `perSecond`; every request with a client token takes one.
// Kept in memory because a database round trip per request would cost more than it protects: with
// several router replicas behind a balancer, a client's effective limit is the sum of theirs.
//
// The answer carries the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers):
//   RateLimit-Policy: "client";q=<burst>;w=<seconds to refill from empty>
//   RateLimit: "client";r=<tokens left>;t=<seconds until the bucket is full again>
// and a refusal adds Retry-After, the seconds until one token is back.

const MAX_BUCKETS = 100_000;

export interface RateLimitDecision {
  allowed: boolean;
  headers: Record<string, string>;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #policy: string;
  readonly #buckets = new Map<string, Bucket>();

  constructor(perSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#now = now;
    this.#policy = `"client";q=${burst};w=${Math.max(1, Math.ceil(burst / perSecond))}`;
  }

  take(key: string): RateLimitDecision {
    return this.#decide(key, true);
  }

  /** What take() would answer, without taking a token: for limits that count only failures. */
  peek(key: string): RateLimitDecision {
    return this.#decide(key, false);
  }

  #decide(key: string, take: boolean): RateLimitDecision {
    const now = this.#now();
    const bucket = this.#refill(key, now);
    const allowed = bucket.tokens >= 1;
    if (allowed && take) bucket.tokens -= 1;
    const headers: Record<string, string> = {
      'RateLimit-Policy': this.#policy,
      RateLimit: `"client";r=${Math.floor(bucket.tokens)};t=${Math.ceil((this.#burst - bucket.tokens) / this.#perSecond)}`,
    };
    if (!allowed) headers['Retry-After'] = String(Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perSecond)));
    return { allowed, headers };
  }

  #refill(key: string, now: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#forgetFullBuckets(now);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond);
    bucket.at = now;
    return bucket;
  }

  /** A full bucket is the same as no bucket: forget those (all, if that frees nothing). */
  #forgetFullBuckets(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond >= this.#burst) this.#buckets.delete(key);
    }
    if (this.#buckets.size >= MAX_BUCKETS) this.#buckets.clear();
  }
}
