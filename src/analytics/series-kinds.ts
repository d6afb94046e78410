// The kinds of per-minute series anomaly detection watches for each address (a constant the
// configuration, the detector and the database CHECK share).
export const SERIES_KINDS = ['count', 'bytes', 'dead_letter_rate', 'latency_p95'] as const;
export type SeriesKind = (typeof SERIES_KINDS)[number];
