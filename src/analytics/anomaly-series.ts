// The series anomaly detection watches, per address (or sender) and minute, read from the
// analytics rollups, and the settings per series kind. Pure.
import { latencyQuantile } from './latency-quantile.ts';
import type { Direction } from '../config.ts';
import type { DetectorSettings } from './seasonal-detector.ts';
import { SERIES_KINDS, type SeriesKind } from '../db/schema.ts';

export interface MinuteRollup {
  minute: Date;
  address: string;
  published: number;
  payload_bytes: number;
  delivered: number;
  dead_lettered: number;
  latency_ms_buckets: number[];
  /** The slowest delivery of the minute: percentiles are interpolated within their bucket and never above it. */
  latency_ms_max: number;
}

/** The value of a series in a minute; undefined when that minute says nothing about it (no
 *  deliveries: no latency, no dead-letter rate). A minute without a row is zero traffic. */
export function seriesValue(kind: SeriesKind, row: MinuteRollup | undefined): number | undefined {
  switch (kind) {
    case 'count': return row?.published ?? 0;
    case 'bytes': return row?.payload_bytes ?? 0;
    case 'dead_letter_rate': {
      const settled = (row?.delivered ?? 0) + (row?.dead_lettered ?? 0);
      return settled === 0 ? undefined : row!.dead_lettered / settled;
    }
    case 'latency_p95': return row ? latencyQuantile(row.latency_ms_buckets, 0.95, row.latency_ms_max) ?? undefined : undefined;
  }
}

/**
 * Shipped settings per kind. k = 5 with an alert after 2 of 3 minutes met every target in
 * docs/analytics-evaluation.md for counts; the floors keep sparse series from alerting on noise
 * (3 messages, 2 KiB, 5 points of dead-letter rate, 50 ms). Dead letters and latency only matter
 * when they rise. k and direction can be changed per kind (SWITCHYARD_ANOMALY_K, _DIRECTION).
 */
export const DETECTOR_DEFAULTS: Record<SeriesKind, DetectorSettings> = {
  count: { k: 5, direction: 'both', floor: 3, m: 2, n: 3 },
  bytes: { k: 5, direction: 'both', floor: 2048, m: 2, n: 3 },
  dead_letter_rate: { k: 5, direction: 'spike', floor: 0.05, m: 2, n: 3 },
  latency_p95: { k: 5, direction: 'spike', floor: 50, m: 2, n: 3 },
};

export function detectorSettings(k: Partial<Record<SeriesKind, number>>, direction: Partial<Record<SeriesKind, Direction>>): Record<SeriesKind, DetectorSettings> {
  return Object.fromEntries(SERIES_KINDS.map((kind) => [kind, {
    ...DETECTOR_DEFAULTS[kind], k: k[kind] ?? DETECTOR_DEFAULTS[kind].k, direction: direction[kind] ?? DETECTOR_DEFAULTS[kind].direction,
  }])) as Record<SeriesKind, DetectorSettings>;
}
