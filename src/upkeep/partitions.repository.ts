// Partition upkeep for the message log (daily partitions), history and delivery receipts
// (monthly): create them
// ahead of time; drop a log partition only once every stage cursor has passed all of its rows,
// no delivery (claimed or pending), stage retry or dead letter still points into it, and its retention has run out.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export type PartitionedTable = 'message' | 'history' | 'delivery_receipt';

/** Partition names come from the catalog; they are checked against this before being used in DDL. */
const PARTITION_NAME = /^(message|history|delivery_receipt)_p\d{6,8}$/;

export async function createPartitions(db: Db, table: PartitionedTable, until: Date): Promise<number> {
  const result = await sql<{ created: number }>`select switchyard.create_partitions(${table}, ${until}) as created`.execute(db);
  return result.rows[0]?.created ?? 0;
}

export interface PartitionRow {
  name: string;
  lo: string;
  hi: string;
  detach_pending: boolean;
}

/** Partitions of `table` whose whole range is older than `olderThan`. */
export async function listPartitionsEndingBefore(db: Db, table: PartitionedTable, olderThan: Date): Promise<PartitionRow[]> {
  const result = await sql<PartitionRow>`
    select c.relname as name, b[1] as lo, b[2] as hi, i.inhdetachpending as detach_pending
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    cross join lateral regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\) TO \\(''([^'']+)''\\)') as b
    where i.inhparent = ${`switchyard.${table}`}::regclass
      and switchyard.uuid_time(b[2]::uuid) < ${olderThan}
    order by c.relname`.execute(db);
  return result.rows.filter((row) => PARTITION_NAME.test(row.name));
}

/** True when no stage cursor, delivery, stage retry or dead letter still needs a row of this log partition. */
export async function isLogPartitionDone(db: Db, partition: PartitionRow): Promise<boolean> {
  const name = sql.id('switchyard', checked(partition.name));
  const result = await sql<{ done: boolean }>`
    select
      coalesce((select max(top.xid) from generate_series(0, 15) as l(n)
                cross join lateral (select p.xid from ${name} p where p.lane = l.n order by p.xid desc limit 1) top)
               < (select min(pg_snapshot_xmin(prev)) from switchyard.stage_cursor), true)
      and not exists (select 1 from switchyard.delivery d where d.message_id >= ${partition.lo}::uuid and d.message_id < ${partition.hi}::uuid)
      and not exists (select 1 from switchyard.delivery_pending d where d.message_id >= ${partition.lo}::uuid and d.message_id < ${partition.hi}::uuid)
      and not exists (select 1 from switchyard.stage_retry r where r.message_id >= ${partition.lo}::uuid and r.message_id < ${partition.hi}::uuid)
      and not exists (select 1 from switchyard.dead_letter x where x.message_id >= ${partition.lo}::uuid and x.message_id < ${partition.hi}::uuid)
      as done`.execute(db);
  return result.rows[0]?.done ?? false;
}

/**
 * Detaches without blocking writers (CONCURRENTLY, which cannot run in a transaction: callers
 * pass the pool, not a transaction), then drops. A detach interrupted earlier is finalized.
 */
export async function dropPartition(db: Db, table: PartitionedTable, partition: PartitionRow): Promise<void> {
  const parent = sql.id('switchyard', table);
  const child = sql.id('switchyard', checked(partition.name));
  if (partition.detach_pending) await sql`alter table ${parent} detach partition ${child} finalize`.execute(db);
  else await sql`alter table ${parent} detach partition ${child} concurrently`.execute(db);
  await sql`drop table ${child}`.execute(db);
}

function checked(name: string): string {
  if (!PARTITION_NAME.test(name)) throw new Error(`refusing to touch unexpected partition ${name}`);
  return name;
}
