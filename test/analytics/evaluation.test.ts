// The evaluation of docs/analytics-evaluation.md on a small deterministic slice: the shipped
// classifier meets its F1 target on the temporal split, the seasonal detector its recall, delay
// and false-alarm targets, and both beat their baselines. Accuracy is deterministic (seeded), so
// asserting it is sound; speed belongs to the benchmark.
import { expect, test } from 'vitest';
import { evaluateDetectors, ewmaDetector, seasonalDetector } from '../../src/analytics/evaluation/anomaly-evaluation.ts';
import { evaluateClassifiers } from '../../src/analytics/evaluation/classification-evaluation.ts';
import { COUNT_DETECTOR, EVALUATION_SEED, EWMA_BASELINE, TARGETS } from '../../src/analytics/evaluation/evaluation-settings.ts';
import { loadSpamCorpus, stripHeaders, temporalSplit } from '../../src/analytics/spam-corpus.ts';

test('the corpus is split by time, with no email in both halves and no header but the subject', () => {
  const emails = loadSpamCorpus();
  const { train, test: later } = temporalSplit(emails);
  expect(new Set(train.map((e) => e.collection))).toEqual(new Set(['easy-ham-1', 'hard-ham-1', 'spam-1']));
  expect(new Set(later.map((e) => e.collection))).toEqual(new Set(['easy-ham-2', 'spam-2']));
  const trainTexts = new Set(train.map((e) => e.text));
  expect(later.filter((e) => trainTexts.has(e.text))).toEqual([]);
});

test('stripping an email keeps its subject and body and drops hosts and dates', () => {
  const email = 'From a@b.example  Thu Aug 22 12:36:23 2002\nReceived: from mail.b.example\nDate: Thu, 22 Aug 2002\n'
    + 'Subject: Cheap loans\n\nApply now.\n';
  expect(stripHeaders(email)).toBe('Cheap loans\nApply now.');
});

test('the shipped classifier reaches F1 0.85 on a temporal slice and beats both baselines', () => {
  const [shipped, majority, links] = evaluateClassifiers(loadSpamCorpus(), { slice: 4, resamples: 100, seed: EVALUATION_SEED });
  expect(shipped!.scores.point.f1).toBeGreaterThanOrEqual(TARGETS.f1);
  expect(shipped!.scores.low.f1).toBeLessThanOrEqual(shipped!.scores.point.f1);
  expect(shipped!.scores.high.f1).toBeGreaterThanOrEqual(shipped!.scores.point.f1);
  expect(shipped!.scores.point.f1).toBeGreaterThan(majority!.scores.point.f1);
  expect(shipped!.scores.point.f1).toBeGreaterThan(links!.scores.point.f1);
  expect(shipped!.scores.point.fpr).toBeLessThan(0.05);
});

test('the seasonal detector finds 90% of injected spikes and drops within 2 minutes at under 0.5 false alarms a day', () => {
  const [seasonal, ewma] = evaluateDetectors({ seasonal: seasonalDetector(COUNT_DETECTOR), ewma: ewmaDetector(EWMA_BASELINE) },
    { seriesCount: 3, days: 14, perDay: 4, seed: EVALUATION_SEED, graceMinutes: COUNT_DETECTOR.n });
  expect(seasonal!.injected).toBeGreaterThan(50);
  expect(seasonal!.recall).toBeGreaterThanOrEqual(TARGETS.recall);
  expect(seasonal!.medianDelayMinutes).toBeLessThanOrEqual(TARGETS.medianDelayMinutes);
  expect(seasonal!.falseAlarmsPerDay).toBeLessThanOrEqual(TARGETS.falseAlarmsPerDay);
  // The baseline mistakes the normal daily burst for an anomaly.
  expect(ewma!.falseAlarmsPerDay).toBeGreaterThan(seasonal!.falseAlarmsPerDay);
});
