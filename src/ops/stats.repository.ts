// The numbers operators look at, read from what is already kept up to date elsewhere: queue
// statistics (switchyard.queue_stat, recounted every few seconds), stage lag
// (switchyard.stage_lag), dead letters, and the per-minute analytics rollups. Metrics, the
// dashboard, the admin API and the CLI all read through these functions; none of them counts a
// queue itself.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface QueueTotals {
  queues: number;
  depth: number;
  visible: number;
  in_flight: number;
  delayed: number;
  oldest_enqueued_at: Date | null;
  counted_at: Date | null;
}

export async function getQueueTotals(db: Db): Promise<QueueTotals> {
  const result = await sql<QueueTotals>`
    select count(*)::int as queues, coalesce(sum(depth), 0)::float8 as depth, coalesce(sum(visible), 0)::float8 as visible,
           coalesce(sum(in_flight), 0)::float8 as in_flight, coalesce(sum(delayed), 0)::float8 as delayed,
           min(oldest_enqueued_at) as oldest_enqueued_at, max(updated_at) as counted_at
    from switchyard.queue_stat`.execute(db);
  return result.rows[0]!;
}

export interface QueueRow {
  client_id: string;
  client_name: string;
  depth: number;
  visible: number;
  in_flight: number;
  delayed: number;
  oldest_enqueued_at: Date | null;
  dead_letters: number;
}

/** The deepest queues first; every registered client appears (empty queues last) up to `limit`. */
export async function listQueues(db: Db, limit: number): Promise<QueueRow[]> {
  const result = await sql<QueueRow>`
    select c.id::text as client_id, c.name as client_name,
           coalesce(q.depth, 0)::float8 as depth, coalesce(q.visible, 0)::float8 as visible,
           coalesce(q.in_flight, 0)::float8 as in_flight, coalesce(q.delayed, 0)::float8 as delayed,
           q.oldest_enqueued_at,
           (select count(*) from switchyard.dead_letter d where d.client_id = c.id)::float8 as dead_letters
    from switchyard.client c
    left join switchyard.queue_stat q on q.client_id = c.id
    where c.revoked_at is null
    order by coalesce(q.depth, 0) desc, c.id
    limit ${limit}`.execute(db);
  return result.rows;
}

/**
 * The deepest queues holding messages, deepest first: one pass over queue_stat and a top-N sort,
 * then the client names of those N only, so the cost does not grow with every registered client
 * as listQueues' does. A client revoked since the last count may be left out (its queue is gone).
 */
export async function listDeepestQueues(db: Db, limit: number): Promise<QueueRow[]> {
  const result = await sql<QueueRow>`
    select q.client_id::text as client_id, c.name as client_name, q.depth::float8 as depth, q.visible::float8 as visible,
           q.in_flight::float8 as in_flight, q.delayed::float8 as delayed, q.oldest_enqueued_at,
           (select count(*) from switchyard.dead_letter d where d.client_id = q.client_id)::float8 as dead_letters
    from (select * from switchyard.queue_stat where depth > 0 order by depth desc, client_id limit ${limit}) q
    join switchyard.client c on c.id = q.client_id and c.revoked_at is null
    order by q.depth desc, q.client_id`.execute(db);
  return result.rows;
}

export interface DeadLetterTotals {
  client_dead_letters: number;
  by_reason: Record<string, number>;
  stage_dead_letters: number;
}

export async function getDeadLetterTotals(db: Db): Promise<DeadLetterTotals> {
  const byReason = await sql<{ reason: string; n: number }>`
    select reason, count(*)::float8 as n from switchyard.dead_letter group by reason`.execute(db);
  const stage = await sql<{ n: number }>`select count(*)::float8 as n from switchyard.stage_dead_letter`.execute(db);
  const by_reason = Object.fromEntries(byReason.rows.map((r) => [r.reason, r.n]));
  return {
    client_dead_letters: byReason.rows.reduce((sum, r) => sum + r.n, 0),
    by_reason,
    stage_dead_letters: stage.rows[0]?.n ?? 0,
  };
}

export interface TrafficMinute {
  minute: Date;
  published: number;
  delivered: number;
  expired: number;
  dead_lettered: number;
}

/** Totals per minute over every address, oldest first, for the last `minutes` minutes. */
export async function listTrafficMinutes(db: Db, minutes: number): Promise<TrafficMinute[]> {
  const result = await sql<TrafficMinute>`
    select minute, sum(published)::float8 as published, sum(delivered)::float8 as delivered,
           sum(expired)::float8 as expired, sum(dead_lettered)::float8 as dead_lettered
    from switchyard.analytics_minute
    where minute >= date_trunc('minute', now()) - make_interval(mins => ${minutes})
    group by minute
    order by minute`.execute(db);
  return result.rows;
}

/**
 * How many queues hold at most each of `bounds` messages (cumulative, like a Prometheus
 * histogram's buckets), from one pass over queue_stat; `total` counts every queue holding any.
 * Bounds must be ascending whole numbers.
 */
export async function countQueuesByDepth(db: Db, bounds: number[]): Promise<{ le: number[]; total: number }> {
  // width_bucket(depth, edges) is i when edges[i] <= depth < edges[i + 1]: with edges bound + 1,
  // bucket i holds the depths above bounds[i - 1] and at most bounds[i].
  const result = await sql<{ bucket: number; n: number }>`
    select width_bucket(depth, ${bounds.map((b) => b + 1)}::bigint[]) as bucket, count(*)::float8 as n
    from switchyard.queue_stat
    group by 1`.execute(db);
  const perBucket = new Array<number>(bounds.length + 1).fill(0);
  for (const row of result.rows) perBucket[row.bucket] = row.n;
  let running = 0;
  const le = bounds.map((_, i) => (running += perBucket[i]!));
  return { le, total: running + perBucket[bounds.length]! };
}

export interface StageFailureCounts {
  stage: string;
  retrying: number;
  dead_letters: number;
}

/** Per stage: messages waiting for a stage retry, and those its retries gave up on. */
export async function listStageFailureCounts(db: Db): Promise<StageFailureCounts[]> {
  const result = await sql<StageFailureCounts>`
    select stage, sum(retrying)::float8 as retrying, sum(dead_letters)::float8 as dead_letters
    from (select stage, count(*) as retrying, 0 as dead_letters from switchyard.stage_retry group by stage
          union all
          select stage, 0, count(*) from switchyard.stage_dead_letter group by stage) counts
    group by stage
    order by stage`.execute(db);
  return result.rows;
}
