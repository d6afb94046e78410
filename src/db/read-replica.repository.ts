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

/** Orders two pg_lsn texts (X/Y, both hexadecimal) without a round trip. */
export function compareLsn(a: string, b: string): number {
  const value = (lsn: string) => {
    const [hi, lo] = lsn.split('/') as [string, string];
    return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
  };
  const diff = value(a) - value(b);
  return diff === 0n ? 0 : diff > 0n ? 1 : -1;
}
