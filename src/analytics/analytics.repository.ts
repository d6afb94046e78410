import { sql, type Selectable } from 'kysely';
import { PREPARED, type Db, type Tx } from '../db/database.ts';
import type { AnalyticsMinuteTable } from '../db/schema.ts';

/**
 * Adds the messages to the analytics counts: per minute and address (direct messages pooled under
 * 'user:*' so per-user traffic does not multiply rows), per minute and sender (anomaly detection)
 * and per hour and sender (top publishers). One call of switchyard.count_messages (migration 0029),
 * which the analytics stage's one-statement batch runs too.
 */
export async function countMessages(tx: Tx, messageIds: string[]): Promise<void> {
  await sql`${PREPARED} select switchyard.count_messages(${messageIds}::uuid[])`.execute(tx);
}

export interface LatencyRollup {
  minute: Date;
  address: string;
  count: number;
  sumMs: number;
  maxMs: number;
  buckets: number[];
  expired: number;
  deadLettered: number;
}

export async function upsertDeliveryLatencies(db: Db, rollups: LatencyRollup[]): Promise<void> {
  if (rollups.length === 0) return;
  const sorted = [...rollups].sort((a, b) => a.minute.getTime() - b.minute.getTime() || a.address.localeCompare(b.address));
  await sql`
    insert into switchyard.analytics_minute (minute, address, delivered, latency_ms_sum, latency_ms_max, latency_ms_buckets,
                                             expired, dead_lettered)
    select r.minute, r.address, r.count, r.sum_ms, r.max_ms, array(select jsonb_array_elements_text(r.buckets)::bigint),
           r.expired, r.dead_lettered
    from jsonb_to_recordset(${JSON.stringify(sorted.map((r) => ({
      minute: r.minute, address: r.address, count: r.count, sum_ms: r.sumMs, max_ms: r.maxMs, buckets: r.buckets,
      expired: r.expired, dead_lettered: r.deadLettered,
    })))}::jsonb) as r(minute timestamptz, address text, count bigint, sum_ms bigint, max_ms integer, buckets jsonb,
                       expired bigint, dead_lettered bigint)
    on conflict (minute, address) do update
      set delivered = analytics_minute.delivered + excluded.delivered,
          expired = analytics_minute.expired + excluded.expired,
          dead_lettered = analytics_minute.dead_lettered + excluded.dead_lettered,
          latency_ms_sum = analytics_minute.latency_ms_sum + excluded.latency_ms_sum,
          latency_ms_max = greatest(analytics_minute.latency_ms_max, excluded.latency_ms_max),
          latency_ms_buckets = switchyard.add_buckets(analytics_minute.latency_ms_buckets, excluded.latency_ms_buckets)`.execute(db);
}

export type AnalyticsMinuteRow = Selectable<AnalyticsMinuteTable>;

export async function listAnalyticsMinutes(db: Db, address: string | undefined, since: Date): Promise<AnalyticsMinuteRow[]> {
  const result = await sql<AnalyticsMinuteRow>`
    select minute, address, published, payload_bytes, delivered, latency_ms_sum, latency_ms_max, latency_ms_buckets,
           expired, dead_lettered
    from switchyard.analytics_minute
    where minute >= ${since} and (${address ?? null}::text is null or address = ${address ?? null})
    order by minute, address
    limit 10000`.execute(db);
  return result.rows;
}
