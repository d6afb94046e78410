// The knee of a live path: the highest steady publish rate at which publish-to-receipt p99 stays
// at or under a limit with nothing lost, found by a ramp.
//
// A step over the limit is measured once more before the ramp ends: on two shared cores a single
// burst (the other processes' work landing at once, a collection) can put a 3-second step's p99
// over 50 ms at a rate the path carries, and the ramp should end where the rate is too much, not
// at the first burst. The ramp ends at the first rate that fails twice in a row; both systems'
// ramps follow the same rule. `strictKnee` keeps the old reading (the rate before the first failed
// attempt), so that the two can be compared.

export const KNEE_P99_LIMIT_MS = 50;

export interface KneeStep {
  rate: number;
  p50: number;
  p99: number;
  lost: number;
}

export interface Knee {
  /** The highest passing rate (0 when even the first failed twice). */
  knee: number;
  /** The highest rate passed before any attempt failed (the knee without the second attempt). */
  strictKnee: number;
  /** Every attempt, in order: a rate appears twice when its first attempt failed. */
  steps: KneeStep[];
}

function passes(step: KneeStep): boolean {
  return step.p99 <= KNEE_P99_LIMIT_MS && step.lost === 0;
}

export async function findKnee(rates: number[], measure: (rate: number) => Promise<KneeStep>, onStep?: (step: KneeStep) => void): Promise<Knee> {
  const steps: KneeStep[] = [];
  const attempt = async (rate: number) => {
    const step = await measure(rate);
    steps.push(step);
    onStep?.(step);
    return passes(step);
  };
  let knee = 0;
  let strictKnee: number | undefined;
  for (const rate of rates) {
    if (!(await attempt(rate))) {
      strictKnee ??= knee;
      if (!(await attempt(rate))) break;
    }
    knee = rate;
  }
  return { knee, strictKnee: strictKnee ?? knee, steps };
}
