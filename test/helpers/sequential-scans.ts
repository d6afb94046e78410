// How many sequential scans PostgreSQL has counted (pg_stat_user_tables.seq_scan) on some tables,
// a partitioned table counted by its partitions. The tests that hold kept query plans to index
// paths (claim-plans, routing-plans) read it before and after the statements they check.
import type pg from 'pg';

/** Sequential scans so far of `tables` (qualified names) and their partitions, `session`'s own included. */
export async function sequentialScans(session: pg.Client, tables: string[]): Promise<number> {
  await session.query('select pg_stat_force_next_flush()'); // this session's counts are otherwise sent later
  const { rows } = await session.query<{ n: string }>(`
    select coalesce(sum(seq_scan), 0) as n from pg_stat_user_tables
    where relid = any ($1::regclass[])
       or relid in (select inhrelid from pg_inherits where inhparent = any ($1::regclass[]))`, [tables]);
  return Number(rows[0]!.n);
}
