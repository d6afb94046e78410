// Bearer tokens: 256 random bits, shown once, stored only as their SHA-256. A hash is enough for
// secrets this long (no dictionary to attack), and it keeps the lookup an index probe.
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'sy_';

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** One-shot: every authenticated request hashes its token, and a Hash object each time cost a few percent of a publish. */
export function hashToken(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** A token's hash (hashToken()) as a string: the authenticator's cache key, and what a stream keeps to re-check its token. */
export function tokenKey(tokenHash: Buffer): string {
  return tokenHash.toString('base64');
}

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Cheap shape check before any hashing or lookup: 1-512 printable characters. */
export function looksLikeToken(value: string): boolean {
  return value.length > 0 && value.length <= 512 && /^[\x21-\x7e]+$/.test(value);
}
