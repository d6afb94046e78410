// Who a bearer token belongs to: the admin, a client, or nobody. Client lookups are cached by
// token hash for a short time; revoking or rotating a client signals config client:<id>, which
// drops its cached entry in every process at once. It also carries the clients' rate limiter, so
// that every route that admits a client applies it (auth.middleware.ts), and the admin sessions
// of the dashboard (admin-session.ts), so that the routes that accept one can check it.
//
// Failed lookups are counted per source address (authFailures): once an address has used up its
// allowance, its next tokens are refused before they reach the database, so a flood of made-up
// tokens costs a map lookup, not a query each.
import type { Db } from '../db/database.ts';
import { ApiError } from '../http/problem.ts';
import type { AdminSessions } from './admin-session.ts';
import { findClientByTokenHash, type ClientRecord } from './client-token.repository.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { hashToken, sameHash } from './tokens.ts';

export type Principal = { kind: 'admin' } | { kind: 'client'; client: ClientRecord };

const MAX_CACHED_TOKENS = 100_000;

export class Authenticator {
  readonly #db: Db;
  readonly #adminTokenHash: Buffer;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, { client: ClientRecord; expiresAt: number }>();
  /** Undefined: no rate limit. */
  readonly rateLimiter: RateLimiter | undefined;
  /** Undefined: no admin sessions (the dashboard cannot log in). */
  readonly adminSessions: AdminSessions | undefined;
  /** Failed authentications per source address; undefined: not limited. */
  readonly authFailures: RateLimiter | undefined;

  constructor(
    db: Db, adminTokenHash: Buffer, cacheMs: number, rateLimiter?: RateLimiter, adminSessions?: AdminSessions, authFailures?: RateLimiter,
  ) {
    this.#db = db;
    this.#adminTokenHash = adminTokenHash;
    this.#cacheMs = cacheMs;
    this.rateLimiter = rateLimiter;
    this.adminSessions = adminSessions;
    this.authFailures = authFailures;
  }

  /**
   * Who the token belongs to. With `source` (the connection's address) a lookup that must go to the
   * database is refused with AuthFailuresThrottled while that address has used up its failures.
   */
  async authenticate(token: string, source?: string): Promise<Principal | undefined> {
    const hash = hashToken(token);
    if (sameHash(hash, this.#adminTokenHash)) return { kind: 'admin' };
    const key = hash.toString('base64');
    const cached = this.#cache.get(key);
    if (cached && cached.expiresAt > Date.now()) return { kind: 'client', client: cached.client };
    const throttle = source === undefined ? undefined : this.authFailures?.peek(source);
    if (throttle && !throttle.allowed) {
      const retryAfter = throttle.headers['Retry-After']!;
      throw new ApiError('AuthFailuresThrottled', `too many unknown tokens came from this address; retry after ${retryAfter} s`, {
        headers: { 'Retry-After': retryAfter },
      });
    }
    const client = await findClientByTokenHash(this.#db, hash);
    if (!client) {
      if (source !== undefined) this.authFailures?.take(source);
      return undefined; // unknown tokens are not cached: no one can fill the cache with them
    }
    if (this.#cacheMs > 0) {
      if (this.#cache.size >= MAX_CACHED_TOKENS) this.#cache.clear();
      this.#cache.set(key, { client, expiresAt: Date.now() + this.#cacheMs });
    }
    return { kind: 'client', client };
  }

  /** Drops cached entries of these client ids (all when undefined). */
  invalidateClients(clientIds: string[] | undefined): void {
    if (clientIds === undefined) return this.#cache.clear();
    const ids = new Set(clientIds);
    for (const [key, entry] of this.#cache) if (ids.has(entry.client.id)) this.#cache.delete(key);
  }
}
