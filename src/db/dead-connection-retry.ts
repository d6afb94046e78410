// A connection that the server closed while it sat idle in the pool (pg_terminate_backend, a
// server restart, a proxy's idle timeout) is handed out again until its socket reports the close,
// and the statement sent on it fails without having run. So the first statement of a checkout
// that had been idle is sent again, on another connection, when it fails with a lost connection:
// stale ones are discarded until one that the pool opens afresh answers or fails for good.
// Only the first: later statements of a checkout may belong to a transaction that is now gone.
// (The first is an autocommit statement or BEGIN; a backend that is killed or shut down rolls
// back what it had not committed, so the statement did not take effect.)
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import { isDatabaseUnreachable } from './errors.ts';

/** How often each connection has been handed out: a first hand-out is a fresh connection, not a stale one. */
const handOuts = new WeakMap<pg.PoolClient, number>();

/** Counts hand-outs on the pool's 'acquire' event (also those of pool.query, which bypasses us). */
export function countHandOuts(pool: pg.Pool): void {
  pool.on('acquire', (client) => handOuts.set(client, (handOuts.get(client) ?? 0) + 1));
}

export function withDeadConnectionRetry(pool: pg.Pool): PostgresPool {
  return {
    connect: async () => new RetryingClient(pool, await pool.connect()),
    end: () => pool.end(),
    // Kysely cancels a running query through a separate client made from these.
    Client: (pool as unknown as { Client: PostgresPool['Client'] }).Client,
    options: pool.options,
  };
}

class RetryingClient implements PostgresPoolClient {
  readonly #pool: pg.Pool;
  #client: pg.PoolClient;
  #first = true;
  /** The connection in hand was destroyed and none replaced it (the database refused a new one). */
  #released = false;

  constructor(pool: pg.Pool, client: pg.PoolClient) {
    this.#pool = pool;
    this.#client = client;
  }

  /** The backend's pid, which Kysely needs to cancel a query. */
  get processID(): number | undefined {
    return (this.#client as { processID?: number }).processID;
  }

  query<R>(...args: unknown[]): never {
    const [text, values] = args as [string, unknown[] | undefined];
    if (!this.#first || typeof text !== 'string') return (this.#client.query as (...a: unknown[]) => never)(...args);
    this.#first = false;
    const run = () => this.#client.query(text, values) as unknown as Promise<PostgresQueryResult<R>>;
    const attempt = async (): Promise<PostgresQueryResult<R>> => {
      const wasIdle = (handOuts.get(this.#client) ?? 0) > 1;
      try {
        return await run();
      } catch (error) {
        if (!wasIdle || !isDatabaseUnreachable(error)) throw error;
        // Destroyed, not returned. When the server killed one idle connection it usually killed
        // them all: the next may be stale too, and is discarded the same way, until a connection
        // the pool opens afresh answers (or fails for good).
        this.#client.release(error as Error);
        this.#released = true;
        this.#client = await this.#pool.connect();
        this.#released = false;
        return attempt();
      }
    };
    return attempt() as never;
  }

  release(): void {
    if (!this.#released) this.#client.release();
  }
}
