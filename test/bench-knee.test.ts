// The benchmark's knee rule (bench/lib/knee.ts): the ramp ends at the first rate that fails twice
// in a row, and strictKnee keeps the reading the ramp gave before a failed step was measured again.
import { expect, test } from 'vitest';
import { findKnee, KNEE_P99_LIMIT_MS, type KneeStep } from '../bench/lib/knee.ts';

/** A measure that answers each attempt at a rate from a script of p99s (and losses), in order. */
function scripted(p99s: Record<number, number[]>, lost: Record<number, number[]> = {}) {
  const attempts = new Map<number, number>();
  return async (rate: number): Promise<KneeStep> => {
    const n = attempts.get(rate) ?? 0;
    attempts.set(rate, n + 1);
    return { rate, p50: 1, p99: p99s[rate]![n]!, lost: lost[rate]?.[n] ?? 0 };
  };
}

test('a rate that fails once and passes when measured again does not end the ramp', async () => {
  const knee = await findKnee([100, 200, 300, 400], scripted({ 100: [10], 200: [80, 20], 300: [30], 400: [90, 70] }));
  expect(knee.knee).toBe(300);
  expect(knee.strictKnee).toBe(100);
  expect(knee.steps.map((s) => s.rate)).toEqual([100, 200, 200, 300, 400, 400]);
});

test('the ramp ends at the first rate that fails twice in a row, without trying higher rates', async () => {
  const knee = await findKnee([100, 200, 300], scripted({ 100: [10], 200: [KNEE_P99_LIMIT_MS + 1, KNEE_P99_LIMIT_MS + 1], 300: [10] }));
  expect(knee.knee).toBe(100);
  expect(knee.strictKnee).toBe(100);
  expect(knee.steps.map((s) => s.rate)).toEqual([100, 200, 200]);
});

test('a p99 exactly at the limit passes, and a lost message fails a step like a slow p99', async () => {
  const knee = await findKnee([100, 200], scripted({ 100: [KNEE_P99_LIMIT_MS], 200: [10, 10] }, { 200: [1, 1] }));
  expect(knee.knee).toBe(100);
  expect(knee.steps).toHaveLength(3);
});

test('a ramp whose first rate fails twice has a knee of 0, and one that never fails ends at its last rate', async () => {
  expect((await findKnee([100, 200], scripted({ 100: [60, 60] }))).knee).toBe(0);
  const all = await findKnee([100, 200], scripted({ 100: [10], 200: [10] }));
  expect(all).toMatchObject({ knee: 200, strictKnee: 200 });
});
