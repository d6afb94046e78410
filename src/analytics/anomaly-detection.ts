// The anomaly detection job (pg-boss singleton, once a minute, upkeep role): steps the detector of
// every series (per address, and per sender as from:<sender>) through each complete minute it has
// not seen, in one transaction, recording and
// publishing anomalies as they open and close. The clock is a parameter.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { seriesValue, type MinuteRollup } from './anomaly-series.ts';
import { SERIES_KINDS, type SeriesKind } from '../db/schema.ts';
import { closeAnomaly, insertOpenAnomaly, listAnomalySeries, listMinuteRollups, upsertAnomalySeries, type AnomalySeriesRow } from './anomaly.repository.ts';
import { newDetectorState, seasonalOffsets, stepDetector, type DetectorSettings } from './seasonal-detector.ts';

export const ANOMALIES_TOPIC = 'topic:switchyard.anomalies';
const MINUTE_MS = 60_000;
/** A minute is judged this long after it ends: deliveries are flushed into the rollups every few
 *  seconds and the analytics stage may be a little behind, so the last minute is not complete yet. */
export const SETTLE_MINUTES = 2;
/** After downtime a run catches up at most this many minutes; older ones are skipped. */
export const CATCH_UP_MINUTES = 60;

export interface AnomalyDetectionOptions {
  now: () => Date;
  settings: Record<SeriesKind, DetectorSettings>;
  log?: Logger;
}

export interface AnomalyDetectionResult {
  minutes: number;
  opened: number;
  closed: number;
}

const seriesId = (kind: SeriesKind, key: string) => `${kind}\u0000${key}`;

export async function runAnomalyDetection(db: Db, options: AnomalyDetectionOptions): Promise<AnomalyDetectionResult> {
  const end = Math.floor(options.now().getTime() / MINUTE_MS) * MINUTE_MS - SETTLE_MINUTES * MINUTE_MS; // minutes before end are complete
  const offsets = seasonalOffsets();
  return db.transaction().execute(async (tx) => {
    const series = new Map((await listAnomalySeries(tx)).map((row) => [seriesId(row.kind, row.key), row]));
    // From the first minute some series has not seen; with no series yet, the last complete minute.
    const oldest = series.size === 0 ? end - MINUTE_MS : Math.min(...[...series.values()].map((row) => row.last_minute.getTime() + MINUTE_MS));
    const start = Math.max(oldest, end - CATCH_UP_MINUTES * MINUTE_MS);
    const result = { minutes: 0, opened: 0, closed: 0 };
    for (let minute = start; minute < end; minute += MINUTE_MS) {
      const wanted = [minute, ...offsets.map((offset) => minute - offset * MINUTE_MS)];
      const rows = new Map<string, MinuteRollup>();
      for (const row of await listMinuteRollups(tx, wanted.map((m) => new Date(m)))) rows.set(`${row.minute.getTime()}\u0000${row.address}`, row);
      const at = (m: number, address: string) => rows.get(`${m}\u0000${address}`);
      const keys = new Set([...rows.values()].filter((r) => r.minute.getTime() === minute).map((r) => r.address));
      for (const row of series.values()) keys.add(row.key);
      for (const key of keys) {
        // A new series started when its earliest row among the seasonal samples did.
        const earliest = Math.min(minute, ...wanted.filter((m) => at(m, key) !== undefined));
        for (const kind of SERIES_KINDS) {
          const id = seriesId(kind, key);
          const known = series.get(id);
          if (known && known.last_minute.getTime() >= minute) continue;
          const observed = seriesValue(kind, at(minute, key));
          let state = known?.state ?? newDetectorState(earliest);
          if (observed !== undefined) {
            const seasonal = offsets.filter((offset) => minute - offset * MINUTE_MS >= state.firstSeen)
              .flatMap((offset) => seriesValue(kind, at(minute - offset * MINUTE_MS, key)) ?? []);
            const step = stepDetector(options.settings[kind], state, minute, observed, seasonal);
            state = step.state;
            if (step.opened && step.band) {
              await insertOpenAnomaly(tx, ANOMALIES_TOPIC, { kind, key, minute: new Date(minute), observed, low: step.band.low, high: step.band.high, anomaly: step.opened });
              result.opened += 1;
            }
            if (step.closed) {
              await closeAnomaly(tx, ANOMALIES_TOPIC, kind, key, new Date(minute), step.closed.severity);
              result.closed += 1;
            }
          } else if (!known) {
            continue; // nothing to say about this series yet (no deliveries): do not start it
          }
          series.set(id, { kind, key, last_minute: new Date(minute), state } satisfies AnomalySeriesRow);
        }
      }
      result.minutes += 1;
    }
    await upsertAnomalySeries(tx, [...series.values()].filter((row) => row.last_minute.getTime() >= start));
    if (result.opened + result.closed > 0) options.log?.info('anomalies', result);
    return result;
  });
}
