// The band behind a series, minute by minute, for the dashboard: the seasonal band each minute
// was (or would be) judged against, computed from the rollups, with the anomalies of the series.
// Minutes without two earlier days of history have no seasonal band (null): the detector judged
// them against its EWMA band, which lives only in its state.
import type { Db } from '../db/database.ts';
import { seriesValue } from './anomaly-series.ts';
import { listAnomaliesSince, listMinuteRollups, type AnomalyRow } from './anomaly.repository.ts';
import { bandFor, newDetectorState, seasonalOffsets, type DetectorSettings } from './seasonal-detector.ts';
import type { SeriesKind } from '../db/schema.ts';

const MINUTE_MS = 60_000;

export interface BandPoint {
  minute: Date;
  observed: number | null;
  low: number | null;
  high: number | null;
}

export async function seriesBand(
  db: Db, address: string, kind: SeriesKind, settings: DetectorSettings, until: Date, minutes: number,
): Promise<{ points: BandPoint[]; anomalies: AnomalyRow[] }> {
  const end = Math.floor(until.getTime() / MINUTE_MS) * MINUTE_MS;
  const first = end - (minutes - 1) * MINUTE_MS;
  const offsets = seasonalOffsets();
  const wanted = new Set<number>();
  for (let m = first; m <= end; m += MINUTE_MS) for (const offset of [0, ...offsets]) wanted.add(m - offset * MINUTE_MS);
  const rows = new Map((await listMinuteRollups(db, [...wanted].map((m) => new Date(m)), address)).map((r) => [r.minute.getTime(), r]));
  // The series is as old as its oldest row in sight; before that, a missing row is no traffic yet.
  const firstSeen = Math.min(...rows.keys(), end);
  const points: BandPoint[] = [];
  for (let m = first; m <= end; m += MINUTE_MS) {
    const seasonal = offsets.filter((o) => m - o * MINUTE_MS >= firstSeen).flatMap((o) => seriesValue(kind, rows.get(m - o * MINUTE_MS)) ?? []);
    const band = bandFor(settings, { ...newDetectorState(firstSeen), samples: 0 }, m, seasonal);
    points.push({ minute: new Date(m), observed: seriesValue(kind, rows.get(m)) ?? null, low: band?.low ?? null, high: band?.high ?? null });
  }
  const anomalies = (await listAnomaliesSince(db, new Date(first), address)).filter((a) => a.series_kind === kind);
  return { points, anomalies };
}
