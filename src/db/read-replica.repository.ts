import { sql } from 'kysely';
import type { Db } from './database.ts';

/** The primary's current WAL position (after every commit so far). */
export async function selectCurrentWalLsn(db: Db): Promise<string> {
  const { rows } = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(db);
  return rows[0]!.lsn;
}

/** How far a standby has replayed; null on a server that is not in recovery. */
export async function selectReplayLsn(db: Db): Promise<string | null> {
  const { rows } = await sql<{ lsn: string | null }>`select pg_last_wal_replay_lsn()::text as lsn`.execute(db);
  return rows[0]!.lsn;
}
