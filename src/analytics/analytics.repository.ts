import { sql, type Selectable } from 'kysely';
import { PREPARED, type Db, type Tx } from '../db/database.ts';
import type { AnalyticsMinuteTable } from '../db/schema.ts';

/** Direct messages are pooled under one address so per-user traffic does not multiply rows. */
const ADDRESS_BUCKET = sql.raw(`case when m.to_address like 'user:%' then 'user:*' else m.to_address end`);

/** Adds the messages to the per-minute published counts. Rows are touched in key order, so two
 *  workers never deadlock on them. */
export async function upsertPublishedCounts(tx: Tx, messageIds: string[]): Promise<void> {
  await sql`${PREPARED}
    insert into switchyard.analytics_minute (minute, address, published, payload_bytes)
    select date_trunc('minute', m.created_at), ${ADDRESS_BUCKET}, count(*), sum(pg_column_size(m.payload))
    from switchyard.message m
    where m.id = any (${messageIds}::uuid[])
    group by 1, 2
    order by 1, 2
    on conflict (minute, address) do update
      set published = analytics_minute.published + excluded.published,
          payload_bytes = analytics_minute.payload_bytes + excluded.payload_bytes`.execute(tx);
}

/** Adds the messages to the per-minute counts of their senders (anomaly detection) and the per-hour
 *  ones (top publishers), in one statement; key order as above. */
export async function upsertSenderCounts(tx: Tx, messageIds: string[]): Promise<void> {
  await sql`
    with counted as (
      select date_trunc('minute', m.created_at) as minute, m.sender, count(*) as published, sum(pg_column_size(m.payload)) as payload_bytes
      from switchyard.message m
      where m.id = any (${messageIds}::uuid[])
      group by 1, 2
    ),
    minutes as (
      insert into switchyard.analytics_sender_minute (minute, sender, published, payload_bytes)
      select minute, sender, published, payload_bytes from counted
      order by 1, 2
      on conflict (minute, sender) do update
        set published = analytics_sender_minute.published + excluded.published,
            payload_bytes = analytics_sender_minute.payload_bytes + excluded.payload_bytes
    )
    insert into switchyard.analytics_sender_hour (hour, sender, published, payload_bytes)
    select date_trunc('hour', minute, 'UTC'), sender, sum(published), sum(payload_bytes)
    from counted
    group by 1, 2
    order by 1, 2
    on conflict (hour, sender) do update
      set published = analytics_sender_hour.published + excluded.published,
          payload_bytes = analytics_sender_hour.payload_bytes + excluded.payload_bytes`.execute(tx);
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
