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
import { PREPARED, type Db, type Tx } from '../db/database.ts';
import type { LaneSelection } from './lane-hints.ts';

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
 * committed row the cursor has not passed. Lanes served longest ago come first. `lanes` narrows
 * the search for committed rows to those lanes (open windows are always taken); undefined looks
 * at every lane. The statement is the SQL function switchyard.claim_lanes (migrations 0021 and
 * 0026), which the one-round-trip routing batch (switchyard.route_batch) calls too.
 */
export async function claimLanes(tx: Tx, stage: string, maxLanes: number, lanes?: LaneSelection): Promise<number[]> {
  const result = await sql<{ lanes: number[] }>`${PREPARED}
    select switchyard.claim_lanes(${stage}, ${maxLanes}, ${lanes ?? null}::smallint[]) as lanes`.execute(tx);
  return result.rows[0]!.lanes;
}

/**
 * Reads the next batch (up to `limit` rows, in (xid, id) order) of each claimed lane and advances
 * the lanes' cursors past it, in one statement (switchyard.read_lane_batches, migration 0021). The
 * caller holds the cursor locks (claimLanes, an earlier statement) and commits the stage's work in
 * the same transaction.
 */
export async function readLaneBatches(tx: Tx, stage: string, lanes: number[], limit: number): Promise<LogEntry[]> {
  if (lanes.length === 0) return [];
  const result = await sql<LogEntry>`${PREPARED}
    select * from switchyard.read_lane_batches(${stage}, ${lanes}::smallint[], ${limit})`.execute(tx);
  return result.rows;
}

/** What one autocommitted stage batch did: lanes claimed, messages handled, and whether a lane filled it. */
export interface StageBatchDone {
  lanes: number;
  entries: number;
  fullLane: boolean;
}

/**
 * One batch of the persistence or the analytics stage as one autocommitted statement
 * (switchyard.stage_batch, migration 0029, says why the cursor rules still hold): claim lanes, read
 * and advance them, and do the stage's work, which is SQL alone. Undefined when the stage needs its
 * general path: analytics while a topic is classified, since the model runs in the service.
 */
export async function runStageBatch(
  db: Db, stage: 'persistence' | 'analytics', maxLanes: number, limit: number, lanes?: LaneSelection,
): Promise<StageBatchDone | undefined> {
  const result = await sql<{ outcome: 'done' | 'general'; lanes: number; entries: number; full_lane: boolean }>`${PREPARED}
    select * from switchyard.stage_batch(${stage}, ${maxLanes}, ${limit}, ${lanes ?? null}::smallint[])`.execute(db);
  const row = result.rows[0]!;
  return row.outcome === 'general' ? undefined : { lanes: row.lanes, entries: row.entries, fullLane: row.full_lane };
}

/** Log entries by id, for retries. */
export async function listLogEntries(tx: Tx, ids: string[]): Promise<LogEntry[]> {
  if (ids.length === 0) return [];
  const result = await sql<LogEntry>`
    select ${ENTRY_COLUMNS} from switchyard.message m where m.id = any (${ids}::uuid[]) order by m.id`.execute(tx);
  return result.rows;
}
