// The settings the evaluation scores: the detector settings are those the service ships for
// message counts (anomaly-settings.ts), the baseline gets the same M of N.
import type { EwmaSettings } from '../ewma-detector.ts';
import type { DetectorSettings } from '../seasonal-detector.ts';

export const EVALUATION_SEED = 14;

/** As shipped for the count series kind. */
export const COUNT_DETECTOR: DetectorSettings = { k: 5, direction: 'both', floor: 3, m: 2, n: 3 };

export const EWMA_BASELINE: EwmaSettings = { alpha: 0.1, z: 4, m: 2, n: 3, minSigma: 1 };

export const TARGETS = { f1: 0.85, recall: 0.9, medianDelayMinutes: 2, falseAlarmsPerDay: 0.5 };
