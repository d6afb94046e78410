// Following the primary when DATABASE_URL names several hosts (libpq's target_session_attrs,
// which node-postgres lacks). The picker asks each host in turn whether it is writable and
// remembers the answer; every connection of ours (the pools, pg-boss's pool and the LISTEN
// connection) opens its socket through socketFactory(), which connects to the host remembered at
// that moment. Any socket error marks the answer as suspect, so the next connection asks again:
// after a failover the first connections fail against the old primary, and the ones after them
// reach the new one. No pool needs rebuilding and no caller knows there is more than one host.
import net from 'node:net';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { needsPicker, parseDatabaseUrl, type DatabaseHost, type DatabaseTarget } from './database-url.ts';

/** A probe gives up on a host after this long: a failover is already an outage of seconds. */
const PROBE_TIMEOUT_MS = 2_000;
/**
 * An answer older than this is checked again before a new connection uses it: a demoted primary
 * that comes back as a standby accepts connections but refuses writes, and no socket error would
 * tell us. New connections are rare in steady state (pools keep theirs), so this costs little.
 */
const ANSWER_FRESH_MS = 5_000;

export class NoWritableHostError extends Error {
  // cannot_connect_now: how PostgreSQL itself says "not now, try again", so callers treat it as an outage.
  readonly code = '57P03';
}

export class PrimaryPicker {
  readonly #target: DatabaseTarget;
  readonly #log: Logger;
  #current: DatabaseHost | undefined;
  #checkedAt = 0;
  #probe: Promise<DatabaseHost> | undefined;

  constructor(target: DatabaseTarget, log: Logger) {
    this.#target = target;
    this.#log = log;
  }

  /** The writable host now: remembered when fresh, else found by asking each host (one search at a time). */
  async current(): Promise<DatabaseHost> {
    if (this.#current && performance.now() - this.#checkedAt < ANSWER_FRESH_MS) return this.#current;
    this.#probe ??= this.#search().finally(() => { this.#probe = undefined; });
    return this.#probe;
  }

  /** The URL of the writable host now (for tools that take a URL: migrations, the CLI). */
  async currentUrl(): Promise<string> {
    return this.#target.urlFor(await this.current());
  }

  /** A connection failed: ask again before the next one. */
  suspect(): void {
    this.#checkedAt = 0;
  }

  /** For pg's `stream` option: a socket that connects to the current primary, whatever host pg asks for. */
  socketFactory(): () => net.Socket {
    return () => new FollowingSocket(this);
  }

  async #search(): Promise<DatabaseHost> {
    // The last primary first: after a restart without failover it is the right one again.
    const hosts = this.#current ? [this.#current, ...this.#target.hosts.filter((h) => h !== this.#current)] : this.#target.hosts;
    const seen: string[] = [];
    for (const host of hosts) {
      const answer = await this.#ask(host);
      seen.push(`${host.host}:${host.port} ${answer}`);
      if (answer === 'writable' || (answer === 'read-only' && !this.#target.readWrite)) {
        if (host !== this.#current) this.#log.info('database primary chosen', { host: `${host.host}:${host.port}` });
        this.#current = host;
        this.#checkedAt = performance.now();
        return host;
      }
    }
    throw new NoWritableHostError(`no writable database host: ${seen.join('; ')}`);
  }

  async #ask(host: DatabaseHost): Promise<string> {
    const client = new pg.Client({ connectionString: this.#target.urlFor(host), connectionTimeoutMillis: PROBE_TIMEOUT_MS, application_name: 'switchyard:probe' });
    client.on('error', () => undefined); // an error after the answer changes nothing
    try {
      await client.connect();
      const { rows } = await client.query<{ recovery: boolean; read_only: string }>(
        `select pg_is_in_recovery() as recovery, current_setting('transaction_read_only') as read_only`,
      );
      return rows[0]!.recovery || rows[0]!.read_only === 'on' ? 'read-only' : 'writable';
    } catch (error) {
      return `unreachable (${(error as Error).message})`;
    } finally {
      void client.end().catch(() => undefined);
    }
  }
}

/**
 * pg calls connect(port, host) with the host of the URL it was given; this socket connects to the
 * picker's choice instead, once the picker has one (net.Socket reports 'connect' or 'error' later
 * either way, which is all pg waits for).
 */
class FollowingSocket extends net.Socket {
  constructor(picker: PrimaryPicker) {
    super();
    this.on('error', () => picker.suspect());
    const connect = super.connect.bind(this) as (port: number, host: string) => this;
    (this as { connect: unknown }).connect = () => {
      picker.current().then(
        (primary) => { if (!this.destroyed) connect(primary.port, primary.host); },
        (error: Error) => this.destroy(error),
      );
      return this;
    };
  }
}

export interface DatabaseConnection {
  /** A single-host URL: the primary when several hosts are named (for pools its host is only a default). */
  url: string;
  /** For pg's `stream` option when several hosts are named: connections follow the primary. */
  stream: (() => net.Socket) | undefined;
}

/** How to reach the database DATABASE_URL names, choosing the primary first when it names several hosts. */
export async function connectDatabase(url: string, log: Logger): Promise<DatabaseConnection> {
  const target = parseDatabaseUrl(url);
  if (typeof target === 'string') throw new Error(`DATABASE_URL: ${target}`);
  if (!needsPicker(target)) return { url, stream: undefined };
  const picker = new PrimaryPicker(target, log);
  return { url: await picker.currentUrl(), stream: picker.socketFactory() };
}
