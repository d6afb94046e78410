// SQL of anomaly detection: the rollups it reads, the detector state per series, the anomalies,
// and their events on topic:switchyard.anomalies (published in the same transaction as the row).
import { sql } from 'kysely';
import type { Db, Tx } from '../db/database.ts';
import type { MinuteRollup } from './anomaly-series.ts';
import type { SeriesKind } from '../db/schema.ts';
import type { DetectorState, OpenAnomaly } from './seasonal-detector.ts';

/** A sender's series are keyed from:<sender>, apart from the addresses'. */
export const SENDER_KEY_PREFIX = 'from:';

/** The rollups of these minutes, of every address and sender or of one key: per address, and per
 *  sender (count and bytes only) as from:<sender>. */
export async function listMinuteRollups(db: Db | Tx, minutes: Date[], key?: string): Promise<MinuteRollup[]> {
  const k = key ?? null;
  const result = await sql<MinuteRollup & { published: string; payload_bytes: string; delivered: string; dead_lettered: string; latency_ms_buckets: string[] }>`
    select minute, address, published, payload_bytes, delivered, dead_lettered, latency_ms_buckets, latency_ms_max
    from switchyard.analytics_minute
    where minute = any (${minutes}::timestamptz[]) and (${k}::text is null or address = ${k})
    union all
    select minute, ${SENDER_KEY_PREFIX} || sender, published, payload_bytes, 0, 0, array_fill(0::bigint, array[16]), 0
    from switchyard.analytics_sender_minute
    where minute = any (${minutes}::timestamptz[])
      and (${k}::text is null or (${k}::text like ${`${SENDER_KEY_PREFIX}%`} and sender = substr(${k}::text, ${SENDER_KEY_PREFIX.length + 1})))`.execute(db);
  return result.rows.map((r) => ({
    ...r, published: Number(r.published), payload_bytes: Number(r.payload_bytes), delivered: Number(r.delivered),
    dead_lettered: Number(r.dead_lettered), latency_ms_buckets: r.latency_ms_buckets.map(Number),
  }));
}

export interface AnomalySeriesRow {
  kind: SeriesKind;
  key: string;
  last_minute: Date;
  state: DetectorState;
}

export async function listAnomalySeries(tx: Tx): Promise<AnomalySeriesRow[]> {
  const result = await sql<AnomalySeriesRow>`
    select kind, key, last_minute, state from switchyard.anomaly_series order by kind, key for update`.execute(tx);
  return result.rows;
}

export async function upsertAnomalySeries(tx: Tx, rows: AnomalySeriesRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    insert into switchyard.anomaly_series (kind, key, last_minute, state)
    select r.kind, r.key, r.last_minute, r.state
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(kind text, key text, last_minute timestamptz, state jsonb)
    on conflict (kind, key) do update set last_minute = excluded.last_minute, state = excluded.state`.execute(tx);
}

export interface AnomalyEvent {
  kind: SeriesKind;
  key: string;
  minute: Date;
  observed: number;
  low: number;
  high: number;
  anomaly: OpenAnomaly;
}

const EVENT_TYPE = 'switchyard.anomaly';

/** Records a new open anomaly and publishes it, in the caller's transaction. */
export async function insertOpenAnomaly(tx: Tx, topicAddress: string, e: AnomalyEvent): Promise<void> {
  await sql`
    with inserted as (
      insert into switchyard.anomaly (series_kind, series_key, window_start, observed, band_low, band_high, direction, severity, state)
      values (${e.kind}, ${e.key}, ${e.minute}, ${e.observed}, ${e.low}, ${e.high}, ${e.anomaly.direction}, ${e.anomaly.severity}, 'open')
      returning *
    )
    select switchyard.publish(${topicAddress}, jsonb_build_object(
      'id', i.id, 'series', jsonb_build_object('kind', i.series_kind, 'key', i.series_key), 'window_start', i.window_start,
      'observed', i.observed, 'band', jsonb_build_object('low', i.band_low, 'high', i.band_high), 'direction', i.direction,
      'severity', i.severity, 'state', i.state), type => ${EVENT_TYPE})
    from inserted i`.execute(tx);
}

/** Closes the open anomaly of a series and publishes that, in the caller's transaction. */
export async function closeAnomaly(tx: Tx, topicAddress: string, kind: SeriesKind, key: string, windowEnd: Date, severity: number): Promise<void> {
  await sql`
    with closed as (
      update switchyard.anomaly set state = 'closed', window_end = ${windowEnd}, severity = greatest(severity, ${severity})
      where series_kind = ${kind} and series_key = ${key} and state = 'open'
      returning *
    )
    select switchyard.publish(${topicAddress}, jsonb_build_object(
      'id', c.id, 'series', jsonb_build_object('kind', c.series_kind, 'key', c.series_key), 'window_start', c.window_start,
      'window_end', c.window_end, 'observed', c.observed, 'band', jsonb_build_object('low', c.band_low, 'high', c.band_high),
      'direction', c.direction, 'severity', c.severity, 'state', c.state), type => ${EVENT_TYPE})
    from closed c`.execute(tx);
}

export interface AnomalyRow {
  id: string;
  series_kind: SeriesKind;
  series_key: string;
  window_start: Date;
  window_end: Date | null;
  observed: number;
  band_low: number;
  band_high: number;
  direction: 'spike' | 'drop';
  severity: number;
  state: 'open' | 'closed';
}

export async function listAnomaliesSince(db: Db, since: Date, key: string | undefined): Promise<AnomalyRow[]> {
  const result = await sql<AnomalyRow>`
    select id, series_kind, series_key, window_start, window_end, observed, band_low, band_high, direction, severity, state
    from switchyard.anomaly
    where (window_start >= ${since} or state = 'open') and (${key ?? null}::text is null or series_key = ${key ?? null})
    order by window_start desc limit 1000`.execute(db);
  return result.rows;
}

export async function countOpenAnomaliesByKind(db: Db | Tx): Promise<{ kind: string; open: number }[]> {
  const result = await sql<{ kind: string; open: number }>`
    select series_kind as kind, count(*)::integer as open from switchyard.anomaly where state = 'open' group by 1 order by 1`.execute(db);
  return result.rows;
}
