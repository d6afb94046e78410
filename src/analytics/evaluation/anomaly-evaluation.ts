// Scores the seasonal detector and the EWMA/z-score baseline on generated series: recall of the
// injected anomalies, median detection delay, and false alarms per day on the clean series.
import { stepEwma, newEwmaState, type EwmaSettings } from '../ewma-detector.ts';
import { median, newDetectorState, seasonalOffsets, stepDetector, type DetectorSettings } from '../seasonal-detector.ts';
import { generateSeries, type Injection } from './synthetic-series.ts';

export interface AnomalyScores {
  detector: string;
  recall: number;
  medianDelayMinutes: number;
  falseAlarmsPerDay: number;
  injected: number;
}

type Detector = (series: number[]) => number[]; // the minutes at which an alert opened

const MINUTE_MS = 60_000;

export function seasonalDetector(settings: DetectorSettings): Detector {
  return (series) => {
    const offsets = seasonalOffsets();
    let state = newDetectorState(0);
    const opened: number[] = [];
    for (let minute = 0; minute < series.length; minute++) {
      const seasonal = offsets.filter((offset) => offset <= minute).map((offset) => series[minute - offset]!);
      const step = stepDetector(settings, state, minute * MINUTE_MS, series[minute]!, seasonal);
      state = step.state;
      if (step.opened) opened.push(minute);
    }
    return opened;
  };
}

export function ewmaDetector(settings: EwmaSettings): Detector {
  return (series) => {
    let state = newEwmaState();
    const opened: number[] = [];
    series.forEach((value, minute) => {
      const step = stepEwma(settings, state, value);
      state = step.state;
      if (step.opened) opened.push(minute);
    });
    return opened;
  };
}

export interface AnomalyEvaluationOptions {
  seriesCount: number;
  days: number;
  perDay: number;
  seed: number;
  /** An alert this many minutes after an anomaly ended still counts as detecting it (the M of N window). */
  graceMinutes: number;
}

export function evaluateDetectors(detectors: Record<string, Detector>, options: AnomalyEvaluationOptions): AnomalyScores[] {
  const series = Array.from({ length: options.seriesCount }, (_, i) => generateSeries({
    days: options.days, baseRate: 40 + 20 * i, perDay: options.perDay, firstInjectedDay: 7, seed: options.seed + i,
  }));
  return Object.entries(detectors).map(([name, detect]) => {
    let found = 0;
    let injected = 0;
    let falseAlarms = 0;
    const delays: number[] = [];
    for (const s of series) {
      const alerts = detect(s.injected);
      const hit = (injection: Injection) => alerts.find((a) => a >= injection.start && a < injection.end + options.graceMinutes);
      for (const injection of s.injections) {
        injected += 1;
        const alert = hit(injection);
        if (alert !== undefined) {
          found += 1;
          delays.push(alert - injection.start);
        }
      }
      falseAlarms += detect(s.clean).length;
    }
    return {
      detector: name, injected, recall: injected === 0 ? 0 : found / injected,
      medianDelayMinutes: delays.length === 0 ? Number.NaN : median(delays),
      falseAlarmsPerDay: falseAlarms / (options.seriesCount * options.days),
    };
  });
}
