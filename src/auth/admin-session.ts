// Admin sessions for the dashboard: the admin token is typed into the page once and exchanged
// for a session cookie (HttpOnly, SameSite=Strict), so the token itself never sits where page
// scripts could read it, and what a browser holds expires on its own.
//
// Why a signed cookie and not a session table or sessionStorage:
//  - signed: every process of every role checks it without a lookup, behind any load balancer,
//    and across restarts; the signing key is random and kept in switchyard_secret.setting (one per
//    database), so no new secret has to be configured;
//  - the MAC also covers the admin token's hash, so rotating the admin token (and restarting)
//    ends every session at once; there is no other revocation, so sessions are short-lived;
//  - sessionStorage would put the long-lived admin token in reach of any script on the page.
// The cookie works only on the routes that opt in (requireAdmin allowSession): the dashboard's
// own, the dead-letter list and redrive; never purge or anything that changes clients.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const ADMIN_SESSION_COOKIE = 'switchyard_admin_session';
const VERSION = 'v1';

export class AdminSessions {
  readonly #key: Buffer;
  readonly #adminTokenHash: Buffer;
  /** How long a session lasts, in milliseconds. */
  readonly lifetimeMs: number;

  constructor(key: Buffer, adminTokenHash: Buffer, lifetimeMs: number) {
    this.#key = key;
    this.#adminTokenHash = adminTokenHash;
    this.lifetimeMs = lifetimeMs;
  }

  /** A new session value, `v1.<expires, unix seconds>.<mac>`. */
  issue(now = Date.now()): { value: string; expiresAt: Date } {
    const expires = Math.floor((now + this.lifetimeMs) / 1000);
    return { value: `${VERSION}.${expires}.${this.#mac(expires).toString('base64url')}`, expiresAt: new Date(expires * 1000) };
  }

  /** When the session ends (ms since the epoch) if `value` is a session this service issued and it has not ended; else undefined. */
  verify(value: string | undefined, now = Date.now()): number | undefined {
    const match = value === undefined ? null : /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!match) return undefined;
    const expires = Number(match[1]);
    const given = Buffer.from(match[2]!, 'base64url');
    const wanted = this.#mac(expires);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return undefined;
    return expires * 1000 > now ? expires * 1000 : undefined;
  }

  #mac(expires: number): Buffer {
    return createHmac('sha256', this.#key).update(`${VERSION}:${expires}:`).update(this.#adminTokenHash).digest();
  }
}
