// The pure parts of the analytics models: which text of a payload is classified, the sampling
// policy, and the seasonal detector's band, fallback, floor, M of N and direction.
import { expect, test } from 'vitest';
import { detectorSettings } from '../../src/analytics/anomaly-series.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { CLASSIFY_BEHIND_MS, SAMPLE_MAX, sampleEvery } from '../../src/analytics/content-classification.ts';
import { JSON_PATH_PATTERN, payloadText } from '../../src/analytics/payload-text.ts';
import {
  bandFor, newDetectorState, SEASONAL_MIN_HISTORY_MINUTES, seasonalOffsets, stepDetector, type DetectorSettings, type DetectorState,
} from '../../src/analytics/seasonal-detector.ts';
import { loadClassifier, trainClassifier } from '../../src/analytics/text-classifier.ts';

const MINUTE = 60_000;
const settings: DetectorSettings = { k: 5, direction: 'both', floor: 3, m: 2, n: 3 };

test('without paths every string of the payload is classified; with paths only the strings below them', () => {
  const payload = { title: 'Hello', body: { text: 'world', tags: ['a', 'b'] }, count: 3, ok: true };
  expect(payloadText(payload, null)).toBe('Hello\nworld\na\nb');
  expect(payloadText(payload, ['$.body.text'])).toBe('world');
  expect(payloadText(payload, ['$.body.tags', '$.title'])).toBe('a\nb\nHello');
  expect(payloadText(payload, ['$.missing', '$.count'])).toBe('');
  expect(payloadText('just a string', null)).toBe('just a string');
  expect(JSON_PATH_PATTERN.test('$.a.0.b')).toBe(true);
  expect(JSON_PATH_PATTERN.test('a.b')).toBe(false);
  expect(JSON_PATH_PATTERN.test(`$${'.a'.repeat(9)}`)).toBe(false);
});

test('a stage keeping up classifies everything; one behind classifies 1 in ceil(wait / 10 s), at most 1 in 100', () => {
  expect(sampleEvery(0)).toBe(1);
  expect(sampleEvery(CLASSIFY_BEHIND_MS)).toBe(1);
  expect(sampleEvery(CLASSIFY_BEHIND_MS + 1)).toBe(2);
  expect(sampleEvery(35_000)).toBe(4);
  expect(sampleEvery(86_400_000)).toBe(SAMPLE_MAX);
});

test('a model survives its JSON round trip through the database unchanged', () => {
  const model = trainClassifier([
    { text: 'win free money now', label: 'spam' }, { text: 'cheap pills free offer', label: 'spam' },
    { text: 'meeting notes for tuesday', label: 'ham' }, { text: 'lunch at noon with the team', label: 'ham' },
  ]);
  const loaded = loadClassifier(model.toJSON());
  for (const text of ['free money offer', 'team meeting tuesday']) expect(loaded.predict(text)).toEqual(model.predict(text));
  expect(model.predict('free money offer').label).toBe('spam');
  expect(model.predict('zzz qqq').label).toBe('unknown');
  expect(() => trainClassifier([{ text: 'only one label', label: 'spam' }])).toThrow(/two labels/);
});

test('the band is the EWMA band before two days of history, and the seasonal median ± k·MAD after', () => {
  let state: DetectorState = newDetectorState(0);
  for (let minute = 0; minute < 30; minute++) state = stepDetector(settings, state, minute * MINUTE, 10, []).state;
  expect(bandFor(settings, state, 30 * MINUTE, [100, 100, 100, 100])?.kind).toBe('ewma');
  // Flat history: the EWMA band is the floor around 10.
  expect(bandFor(settings, state, 30 * MINUTE, [])).toEqual({ kind: 'ewma', low: 7, high: 13 });
  const seasonal = seasonalOffsets().map((_, i) => 100 + (i % 3) - 1); // 99, 100, 101: MAD 1
  const band = bandFor(settings, state, SEASONAL_MIN_HISTORY_MINUTES * MINUTE, seasonal);
  expect(band?.kind).toBe('seasonal');
  expect(band!.low).toBeCloseTo(100 - 5 * 1.4826);
  expect(band!.high).toBeCloseTo(100 + 5 * 1.4826);
});

test('an alert opens after m of the last n minutes outside, only in the configured direction, and closes after n minutes inside', () => {
  const run = (s: DetectorSettings, values: number[]) => {
    let state = newDetectorState(0);
    const events: string[] = [];
    values.forEach((value, minute) => {
      const step = stepDetector(s, state, minute * MINUTE, value, []);
      state = step.state;
      if (step.opened) events.push(`open ${step.opened.direction} at ${minute}`);
      if (step.closed) events.push(`close at ${minute}`);
    });
    return events;
  };
  const quiet = Array.from({ length: 20 }, () => 10);
  expect(run(settings, [...quiet, 50, 10, 10, 10, 10])).toEqual([]); // one minute out of 3: no alert
  expect(run(settings, [...quiet, 50, 50, 10, 10, 10, 10])).toEqual(['open spike at 21', 'close at 24']);
  expect(run({ ...settings, direction: 'spike' }, [...quiet, 0, 0, 0, 10])).toEqual([]);
  expect(run({ ...settings, direction: 'drop' }, [...quiet, 0, 0, 10])).toEqual(['open drop at 21']);
  expect(run(settings, [...quiet, 12, 12, 12])).toEqual([]); // inside the floor of 3
});

test('k and direction are set per series kind; kinds not named keep their defaults, and a bad pair names its variable', () => {
  const config = loadConfig({ SWITCHYARD_ANOMALY_K: 'count=3, latency_p95=100', SWITCHYARD_ANOMALY_DIRECTION: 'bytes=drop' });
  const settings = detectorSettings(config.anomaly.k, config.anomaly.direction);
  expect(settings.count).toMatchObject({ k: 3, direction: 'both' });
  expect(settings.latency_p95).toMatchObject({ k: 100, direction: 'spike' });
  expect(settings.bytes).toMatchObject({ k: 5, direction: 'drop' });
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return '';
    } catch (error) {
      return (error as ConfigError).problems.join('\n');
    }
  };
  expect(problems({ SWITCHYARD_ANOMALY_K: 'count=0' })).toMatch(/SWITCHYARD_ANOMALY_K/);
  expect(problems({ SWITCHYARD_ANOMALY_K: 'count=100.5' })).toMatch(/SWITCHYARD_ANOMALY_K/);
  expect(problems({ SWITCHYARD_ANOMALY_K: 'clicks=3' })).toMatch(/SWITCHYARD_ANOMALY_K/);
  expect(problems({ SWITCHYARD_ANOMALY_DIRECTION: 'count=up' })).toMatch(/SWITCHYARD_ANOMALY_DIRECTION/);
});
