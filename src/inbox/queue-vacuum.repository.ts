// What the queue vacuum (queue-vacuum.ts) reads and runs: the delivery table's dead and live rows
// as PostgreSQL's statistics count them, whether this login may vacuum it, and the vacuum itself.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface QueueGarbage {
  /** This login owns the table or, from PostgreSQL 17, holds MAINTAIN on it (migration 0030). */
  mayVacuum: boolean;
  dead: number;
  live: number;
}

export async function deliveryGarbage(db: Db): Promise<QueueGarbage> {
  // CASE keeps 'MAINTAIN' from being asked of a server that does not know the word.
  const result = await sql<{ may_vacuum: boolean; dead: string; live: string }>`
    select case when pg_has_role(c.relowner, 'usage') then true
                when current_setting('server_version_num')::int >= 170000 then has_table_privilege(c.oid, 'maintain')
                else false end as may_vacuum,
           coalesce(s.n_dead_tup, 0) as dead, coalesce(s.n_live_tup, 0) as live
    from pg_class c left join pg_stat_user_tables s on s.relid = c.oid
    where c.oid = 'switchyard.delivery'::regclass`.execute(db);
  const row = result.rows[0]!;
  return { mayVacuum: row.may_vacuum, dead: Number(row.dead), live: Number(row.live) };
}

/**
 * Vacuums the delivery table. SKIP_LOCKED: when another process (or autovacuum) is at it, this one
 * does nothing. TRUNCATE false: giving the empty pages at the end back to the file system takes a
 * lock that stops every receive, ack and routing insert until it is done, and the next inserts
 * would only grow the file again; their space is reused instead.
 */
export async function vacuumDeliveries(db: Db): Promise<void> {
  await sql`vacuum (skip_locked, truncate false) switchyard.delivery`.execute(db);
}
