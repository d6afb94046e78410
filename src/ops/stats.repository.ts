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
