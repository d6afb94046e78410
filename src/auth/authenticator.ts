// Who a bearer token belongs to: the admin, a client, or nobody. Client lookups are cached by
// token hash for a short time; revoking or rotating a client signals config client:<id>, which
// drops its cached entry in every process at once. It also carries the clients' rate limiter, so
// that every route that admits a client applies it (auth.middleware.ts), and the admin sessions
// of the dashboard (admin-session.ts), so that the routes that accept one can check it.
//
// Failed lookups are counted per source address (authFailures): once an address has used up its
// allowance, its next tokens are refused before they reach the database, so a flood of made-up
// tokens costs a map lookup, not a query each.
import { LRUCache } from 'lru-cache';
import type { Db } from '../db/database.ts';
import { ApiError } from '../http/problem.ts';
import type { AdminSessions } from './admin-session.ts';
import { findClientByTokenHash, type ClientRecord } from './client-token.repository.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { hashToken, sameHash, tokenKey } from './tokens.ts';

export type Principal = { kind: 'admin' } | { kind: 'client'; client: ClientRecord };

/** Tokens cached at most; past it the least recently used one makes room. */
const MAX_CACHED_TOKENS = 100_000;

export class Authenticator {
  readonly #db: Db;
  readonly #adminTokenHash: Buffer;
  /** Clients by token hash; undefined: not cached (a cache time of 0). */
  readonly #cache: LRUCache<string, ClientRecord> | undefined;
  /** Undefined: no rate limit. */
  readonly rateLimiter: RateLimiter | undefined;
  /** Undefined: no admin sessions (the dashboard cannot log in). */
  readonly adminSessions: AdminSessions | undefined;
  /** Failed authentications per source address; undefined: not limited. */
  readonly authFailures: RateLimiter | undefined;

  constructor(
    db: Db, adminTokenHash: Buffer, cacheMs: number, rateLimiter?: RateLimiter, adminSessions?: AdminSessions, authFailures?: RateLimiter,
    maxCachedTokens = MAX_CACHED_TOKENS,
  ) {
    this.#db = db;
    this.#adminTokenHash = adminTokenHash;
    this.#cache = cacheMs > 0 ? new LRUCache({ max: maxCachedTokens, ttl: cacheMs }) : undefined;
    this.rateLimiter = rateLimiter;
    this.adminSessions = adminSessions;
    this.authFailures = authFailures;
  }

  /**
   * Who the token belongs to. With `source` (the connection's address) a lookup that must go to the
   * database is refused with AuthFailuresThrottled while that address has used up its failures.
   */
  async authenticate(token: string, source?: string): Promise<Principal | undefined> {
    return this.authenticateHash(hashToken(token), source);
  }

  /** As authenticate(), for a caller that already hashed the token (hashToken()) and keeps the hash. */
  async authenticateHash(hash: Buffer, source?: string): Promise<Principal | undefined> {
    if (sameHash(hash, this.#adminTokenHash)) return { kind: 'admin' };
    return this.#client(tokenKey(hash), hash, source);
  }

  /**
   * The client whose token hashes to `key` (tokenKey()): what a long-lived request asks again and
   * again. A stream re-checks its token at every wake-up, and a broadcast wakes thousands of streams
   * at once: hashing each token again cost 20 ms of SHA-256 per broadcast to 10,000 streams. A
   * string, not the digest's Buffer, because every open stream holds one.
   */
  async authenticateClientKey(key: string): Promise<Principal | undefined> {
    return this.#client(key, undefined);
  }

  async #client(key: string, hash: Buffer | undefined, source?: string): Promise<Principal | undefined> {
    const cached = this.#cache?.get(key);
    if (cached) return { kind: 'client', client: cached };
    const throttle = source === undefined ? undefined : this.authFailures?.peek(source);
    if (throttle && !throttle.allowed) {
      const retryAfter = throttle.headers['Retry-After']!;
      throw new ApiError('AuthFailuresThrottled', `too many unknown tokens came from this address; retry after ${retryAfter} s`, {
        headers: { 'Retry-After': retryAfter },
      });
    }
    const client = await findClientByTokenHash(this.#db, hash ?? Buffer.from(key, 'base64'));
    if (!client) {
      if (source !== undefined) this.authFailures?.take(source);
      return undefined; // unknown tokens are not cached: no one can fill the cache with them
    }
    this.#cache?.set(key, client);
    return { kind: 'client', client };
  }

  /** Drops cached entries of these client ids (all when undefined). */
  invalidateClients(clientIds: string[] | undefined): void {
    if (clientIds === undefined) return this.#cache?.clear();
    const ids = new Set(clientIds);
    const dropped: string[] = [];
    this.#cache?.forEach((client, key) => { if (ids.has(client.id)) dropped.push(key); });
    for (const key of dropped) this.#cache?.delete(key);
  }
}
