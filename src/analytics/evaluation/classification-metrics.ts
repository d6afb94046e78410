// Precision, recall, F1 and false-positive rate of a binary classifier, with percentile bootstrap
// confidence intervals (resampling the test set with a seeded generator).
import { seededRandom } from './prng.ts';

export interface Outcome {
  actual: boolean;
  predicted: boolean;
}

export interface Scores {
  precision: number;
  recall: number;
  f1: number;
  fpr: number;
}

export interface ScoresWithIntervals {
  point: Scores;
  /** 95% intervals: [low, high] per score. */
  low: Scores;
  high: Scores;
}

export function scoreOutcomes(outcomes: readonly Outcome[]): Scores {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (const o of outcomes) {
    if (o.predicted && o.actual) tp += 1;
    else if (o.predicted) fp += 1;
    else if (o.actual) fn += 1;
    else tn += 1;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, fpr: fp + tn === 0 ? 0 : fp / (fp + tn) };
}

const KEYS = ['precision', 'recall', 'f1', 'fpr'] as const;

export function bootstrapScores(outcomes: readonly Outcome[], resamples: number, seed: number): ScoresWithIntervals {
  const random = seededRandom(seed);
  const samples: Scores[] = [];
  const sample: Outcome[] = new Array(outcomes.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < outcomes.length; i++) sample[i] = outcomes[Math.floor(random() * outcomes.length)]!;
    samples.push(scoreOutcomes(sample));
  }
  const quantile = (key: (typeof KEYS)[number], q: number) => {
    const sorted = samples.map((s) => s[key]).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  };
  const at = (q: number) => Object.fromEntries(KEYS.map((key) => [key, quantile(key, q)])) as unknown as Scores;
  return { point: scoreOutcomes(outcomes), low: at(0.025), high: at(0.975) };
}
