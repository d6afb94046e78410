// Load on the message log for the stage tests: producers on their own connections committing out
// of order (transactions held open a while, some rolled back) while stage runners read, and
// runners driven until the log is drained.
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../../src/db/database.ts';
import type { Stage, StageRunner } from '../../src/queue/stage-runner.ts';
import { eventually } from './factories.ts';

export async function connectTo(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Publishes n messages to `to` in the client's current transaction (autocommitted outside one). */
export async function publishOn(client: pg.Client, to: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push((await client.query<{ id: string }>('select switchyard.publish($1, $2::jsonb) as id', [to, JSON.stringify({ i })])).rows[0]!.id);
  }
  return ids;
}

/** Runs until a run finds nothing, several times in a row (other runners may hold lanes). */
export async function drain(...runners: StageRunner[]): Promise<void> {
  let idle = 0;
  while (idle < 3) {
    const results = await Promise.all(runners.map((r) => r.runOnce()));
    idle = results.every((r) => r.processed === 0 && !r.more) ? idle + 1 : 0;
  }
}

/**
 * 8 producers of 60 transactions each, every one publishing 1-5 messages to one of topic:t0 ..
 * topic:t29, held open up to 25 ms and rolled back one time in five, while the runners run; then
 * the runners drain the log. Returns the ids committed and the ids rolled back.
 */
export async function produceOutOfOrder(url: string, runners: StageRunner[]): Promise<{ committed: string[]; rolledBack: string[] }> {
  const committed: string[] = [];
  const rolledBack: string[] = [];
  let producing = true;
  const producers = Array.from({ length: 8 }, async (_, p) => {
    const client = await connectTo(url);
    try {
      for (let round = 0; round < 60; round++) {
        await client.query('begin');
        const ids = await publishOn(client, `topic:t${(p * 7 + round) % 30}`, 1 + (round % 5));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 25)); // held open a while
        if (Math.random() < 0.2) {
          await client.query('rollback');
          rolledBack.push(...ids);
        } else {
          await client.query('commit');
          committed.push(...ids);
        }
      }
    } finally {
      await client.end();
    }
  });
  const consuming = runners.map(async (runner) => {
    while (producing) {
      const result = await runner.runOnce();
      if (!result.more) await new Promise((resolve) => setTimeout(resolve, 2));
    }
  });
  try {
    await Promise.all(producers);
  } finally {
    producing = false;
    await Promise.all(consuming);
  }
  await drain(...runners);
  return { committed, rolledBack };
}

/** The stage, counting the batches its one-statement path took (undefined: the general path). */
export function countingOneStatement(inner: Stage): { stage: Stage; whole: () => number } {
  let whole = 0;
  return {
    whole: () => whole,
    stage: {
      ...inner,
      async runInOneStatement(db, lanesPerClaim, size, lanes) {
        const batch = await inner.runInOneStatement!(db, lanesPerClaim, size, lanes);
        if (batch !== undefined) whole += 1;
        return batch;
      },
    },
  };
}

/**
 * One run of the runner whose statement (its text containing `statement`) is killed while it waits
 * to write `table`: another session holds the table, so the statement stops there, after claiming
 * and advancing; its backend is terminated, then the table let go. The pool may re-send the
 * statement on a fresh connection (db/dead-connection-retry.ts) or the run may fail: either way
 * the killed statement was rolled back whole. Resolves once the run has ended.
 */
export async function runKilledMidStatement(url: string, db: Db, runner: StageRunner, table: string, statement: string): Promise<void> {
  const holder = await connectTo(url);
  await holder.query('begin');
  await holder.query(`lock table ${table} in share mode`);
  const running = runner.runOnce();
  // Looked for from the pool: inside the holder's transaction pg_stat_activity is one snapshot.
  const victim = await eventually(async () => (await sql<{ pid: number }>`
    select pid from pg_stat_activity where wait_event_type = 'Lock' and query like ${`%${statement}(%`}`.execute(db)).rows[0]?.pid, 10_000, 'the worker to wait on the lock');
  await holder.query('select pg_terminate_backend($1)', [victim]);
  await holder.query('rollback');
  await holder.end();
  await running.catch(() => undefined);
}
