// Reading the message log through per-(stage, lane) cursors, batched by transaction snapshots as
// PgQ does. docs/architecture.md explains the algorithm; the rules that keep it from losing or
// repeating messages are:
//
//  1. Claim the cursor rows in one statement (claimLanes) and read in the next (readLaneBatches).
//     Under READ COMMITTED a FOR UPDATE that waited re-reads the newest cursor row while the
//     statement's snapshot stays older: a snapshot taken in the claiming statement can be older
//     than the prev it would replace, and re-delivers.
//  2. The snapshot a window stores is pg_current_snapshot() of the very statement that scans the
//     log. A snapshot taken by any later statement would mark done every transaction that
//     committed in between without its rows ever being read: that is how such queues lose messages
//     (test/queue/stage-cursor.test.ts shows it).
//  3. The scan is bounded by one row comparison (xid, id) > (lo_xid, lo_id) on the (lane, xid, id)
//     index, in two ordered branches: the transactions still running at prev (xip) and everything
//     from xmax(prev) on. A plain xid >= xmin(prev) bound would rescan old rows while some
//     unrelated transaction stays open.
//  4. Every read advances its cursor, even an empty one inside an open window (prev := target),
//     or the lane would stick.
//  5. A stage never appends to the log in the transaction that reads it: its own xid is visible in
//     the snapshot it stores, so its own rows would count as done.
import { sql } from 'kysely';
import { PREPARED, type Tx } from '../db/database.ts';

/** One message of the log as stages see it: everything but payload and headers. */
export interface LogEntry {
  id: string;
  xid: string;
  lane: number;
  created_at: Date;
  sender_id: string | null;
  sender: string;
  to_address: string;
  conversation: string;
  type: string | null;
  priority: number;
  deliver_at: Date | null;
  expires_at: Date | null;
  group_id: string | null;
  dedup_id: string | null;
  correlation_id: string | null;
  reply_to: string | null;
}

const ENTRY_COLUMNS = sql.raw(`m.id, m.xid::text as xid, m.lane, m.created_at, m.sender_id, m.sender, m.to_address,
  m.conversation, m.type, m.priority, m.deliver_at, m.expires_at, m.group_id, m.dedup_id, m.correlation_id, m.reply_to`);

/**
 * Session settings of the connections stage runners use. The planner cannot see the lane bounds,
 * which are computed inside the statement, and on a large backlog picks a bitmap scan that reads
 * the whole window for every batch (measured: 121 ms against 7 ms for 8 lanes x 500 rows out of
 * 200,000). Set per connection, this costs no round trip per batch (a SET LOCAL did).
 */
export const STAGE_SESSION_SETTINGS = { enable_bitmapscan: 'off' };

/**
 * Locks up to `maxLanes` cursors of the stage that have something to do: an open window, or a
 * committed row the cursor has not passed. Lanes served longest ago come first.
 */
export async function claimLanes(tx: Tx, stage: string, maxLanes: number): Promise<number[]> {
  const result = await sql<{ lane: number }>`${PREPARED}
    select c.lane
    from switchyard.stage_cursor c
    where c.stage = ${stage}
      and (c.target is not null
           or exists (select 1 from switchyard.message m
                      where m.lane = c.lane and m.xid >= pg_snapshot_xmax(c.prev))
           or exists (select 1 from switchyard.message m
                      where m.lane = c.lane and m.xid = any (array(select pg_snapshot_xip(c.prev)))))
    order by c.updated_at
    limit ${maxLanes}
    for update of c skip locked`.execute(tx);
  return result.rows.map((row) => row.lane);
}

/**
 * Reads the next batch (up to `limit` rows, in (xid, id) order) of each claimed lane and advances
 * the lanes' cursors past it, in one statement. The caller holds the cursor locks (claimLanes) and
 * commits the stage's work in the same transaction.
 */
export async function readLaneBatches(tx: Tx, stage: string, lanes: number[], limit: number): Promise<LogEntry[]> {
  if (lanes.length === 0) return [];
  const result = await sql<LogEntry>`${PREPARED}
    with cursor as materialized (
      select c.lane, c.prev, c.pos_xid, c.pos_id,
             -- a new window's target is this statement's own snapshot (rule 2)
             coalesce(c.target, pg_current_snapshot()) as snap,
             -- where the xmax(prev).. branch starts: the position, once it has passed xmax(prev)
             case when c.pos_xid >= pg_snapshot_xmax(c.prev) then c.pos_xid else pg_snapshot_xmax(c.prev) end as lo_xid,
             case when c.pos_xid >= pg_snapshot_xmax(c.prev) then c.pos_id
                  else '00000000-0000-0000-0000-000000000000'::uuid end as lo_id
      from switchyard.stage_cursor c
      where c.stage = ${stage} and c.lane = any (${lanes}::smallint[])
    ),
    batch as (
      select b.*
      from cursor c
      cross join lateral (
        select * from (
          (select ${ENTRY_COLUMNS}
           from switchyard.message m
           where m.lane = c.lane
             and m.xid = any (array(select pg_snapshot_xip(c.prev)))
             and (c.pos_xid is null or (m.xid, m.id) > (c.pos_xid, c.pos_id))
             and pg_visible_in_snapshot(m.xid, c.snap)
           order by m.xid, m.id
           limit ${limit})
          union all
          (select ${ENTRY_COLUMNS}
           from switchyard.message m
           where m.lane = c.lane
             and (m.xid, m.id) > (c.lo_xid, c.lo_id)
             and m.xid < pg_snapshot_xmax(c.snap)
             and pg_visible_in_snapshot(m.xid, c.snap)
           order by m.xid, m.id
           limit ${limit})
        ) both_branches
        order by both_branches.xid::xid8, both_branches.id
        limit ${limit}
      ) b
    ),
    last as (
      select distinct on (lane) lane, xid::xid8 as xid, id, count(*) over (partition by lane) as n
      from batch
      order by lane, xid::xid8 desc, id desc
    ),
    advance as (
      -- a short batch closes the window (prev := target); a full one keeps it open at its last row
      update switchyard.stage_cursor s
      set prev = case when coalesce(l.n, 0) < ${limit} then c.snap else s.prev end,
          target = case when coalesce(l.n, 0) < ${limit} then null else c.snap end,
          pos_xid = case when coalesce(l.n, 0) < ${limit} then null else l.xid end,
          pos_id = case when coalesce(l.n, 0) < ${limit} then null else l.id end,
          updated_at = now()
      from cursor c
      left join last l on l.lane = c.lane
      where s.stage = ${stage} and s.lane = c.lane
    )
    select * from batch order by lane, xid::xid8, id`.execute(tx);
  return result.rows;
}

/** Log entries by id, for retries. */
export async function listLogEntries(tx: Tx, ids: string[]): Promise<LogEntry[]> {
  if (ids.length === 0) return [];
  const result = await sql<LogEntry>`
    select ${ENTRY_COLUMNS} from switchyard.message m where m.id = any (${ids}::uuid[]) order by m.id`.execute(tx);
  return result.rows;
}
