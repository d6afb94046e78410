// The anomaly detector for one per-minute series: a robust seasonal band (median ± k·MAD of the
// same minute of day over the last 7 days), an EWMA band while the series has less than two days
// of history, a floor under the band's half-width for sparse series, and an alert after M of the
// last N minutes fell outside. Pure and step-wise: the state is JSON, kept in the database between
// minutes, so the same code runs in the upkeep job and in the evaluation.
import type { Direction } from '../config.ts';

export interface DetectorSettings {
  /** Sensitivity: half-width of the band in (scaled) MADs or EWMA standard deviations. */
  k: number;
  direction: Direction;
  /** Smallest half-width of the band, in the series' unit: sparse series do not alert on noise. */
  floor: number;
  /** Alert when at least m of the last n minutes were outside the band. */
  m: number;
  n: number;
}

/** MAD times this estimates a standard deviation for normal data. */
const MAD_TO_SIGMA = 1.4826;
/** Each earlier day contributes its same minute and this many minutes either side: 7 samples alone
 *  made MAD too noisy (over 9 false alarms a day in a tuning run at k = 5), 35 keep the band steady while
 *  a 5-minute window still follows the shape of the day. */
export const SEASONAL_NEIGHBOUR_MINUTES = 2;
export const SEASONAL_DAYS = 7;

/** Offsets in minutes, before a minute, of the samples its seasonal band is built from. */
export function seasonalOffsets(): number[] {
  const offsets: number[] = [];
  for (let day = 1; day <= SEASONAL_DAYS; day++) {
    for (let d = -SEASONAL_NEIGHBOUR_MINUTES; d <= SEASONAL_NEIGHBOUR_MINUTES; d++) offsets.push(day * 1440 + d);
  }
  return offsets;
}

/** The seasonal band needs this much history; before it the EWMA band stands in. */
export const SEASONAL_MIN_HISTORY_MINUTES = 2 * 1440;
/** The seasonal band needs samples from at least two earlier days. */
const SEASONAL_MIN_SAMPLES = 2 * (2 * SEASONAL_NEIGHBOUR_MINUTES + 1);
/** EWMA weight of the newest minute: about a 20-minute memory, quick to learn a new series. */
const EWMA_ALPHA = 0.1;

export interface Band {
  low: number;
  high: number;
  kind: 'seasonal' | 'ewma';
}

export interface OpenAnomaly {
  startedAt: number;
  direction: 'spike' | 'drop';
  /** Largest distance from the band's centre, in half-widths. */
  severity: number;
  peak: number;
}

export interface DetectorState {
  firstSeen: number;
  mean: number;
  variance: number;
  samples: number;
  /** Outside flags of the last n minutes, newest last. */
  recent: boolean[];
  open: OpenAnomaly | null;
}

export interface DetectorStep {
  state: DetectorState;
  band: Band | null;
  outside: boolean;
  opened: OpenAnomaly | null;
  closed: OpenAnomaly | null;
}

export function newDetectorState(firstSeen: number): DetectorState {
  return { firstSeen, mean: 0, variance: 0, samples: 0, recent: [], open: null };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The band for this minute, or null while the series is too young for any band. */
export function bandFor(settings: DetectorSettings, state: DetectorState, minute: number, seasonal: number[]): Band | null {
  if (minute - state.firstSeen >= SEASONAL_MIN_HISTORY_MINUTES * 60_000 && seasonal.length >= SEASONAL_MIN_SAMPLES) {
    const centre = median(seasonal);
    const mad = median(seasonal.map((v) => Math.abs(v - centre)));
    const half = Math.max(settings.k * MAD_TO_SIGMA * mad, settings.floor);
    return { low: centre - half, high: centre + half, kind: 'seasonal' };
  }
  if (state.samples < 1 / EWMA_ALPHA) return null; // the average is not settled yet
  const half = Math.max(settings.k * Math.sqrt(state.variance), settings.floor);
  return { low: state.mean - half, high: state.mean + half, kind: 'ewma' };
}

function outsideOf(settings: DetectorSettings, band: Band | null, observed: number): 'spike' | 'drop' | null {
  if (band === null) return null;
  if (observed > band.high && settings.direction !== 'drop') return 'spike';
  if (observed < band.low && settings.direction !== 'spike') return 'drop';
  return null;
}

/** One minute of the series: observed value and the values at seasonalOffsets() before it (those
 *  before the series began left out). */
export function stepDetector(settings: DetectorSettings, state: DetectorState, minute: number, observed: number, seasonal: number[]): DetectorStep {
  const band = bandFor(settings, state, minute, seasonal);
  const side = outsideOf(settings, band, observed);
  const outside = side !== null;
  const next: DetectorState = { ...state, recent: [...state.recent, outside].slice(-settings.n) };
  // The EWMA learns from normal minutes only, so an anomaly does not widen its own band.
  if (!outside) {
    const delta = observed - state.mean;
    const alpha = state.samples === 0 ? 1 : EWMA_ALPHA;
    next.mean = state.mean + alpha * delta;
    next.variance = state.samples === 0 ? 0 : (1 - EWMA_ALPHA) * (state.variance + EWMA_ALPHA * delta * delta);
    next.samples = state.samples + 1;
  }
  let opened: OpenAnomaly | null = null;
  let closed: OpenAnomaly | null = null;
  const outsideCount = next.recent.filter(Boolean).length;
  if (band !== null && side !== null) {
    const centre = (band.low + band.high) / 2;
    const severity = Math.abs(observed - centre) / ((band.high - band.low) / 2);
    if (state.open !== null) {
      next.open = state.open.severity >= severity ? state.open : { ...state.open, severity, peak: observed };
    } else if (outsideCount >= settings.m) {
      opened = { startedAt: minute, direction: side, severity, peak: observed };
      next.open = opened;
    }
  } else if (state.open !== null && outsideCount === 0) {
    // Closed once a whole window of n minutes was inside the band again.
    closed = state.open;
    next.open = null;
  }
  return { state: next, band, outside, opened, closed };
}
