// The knee of a live path: the highest steady publish rate at which publish-to-receipt p99 stays
// at or under a limit with nothing lost, found by a ramp that stops at the first rate that fails.

export const KNEE_P99_LIMIT_MS = 50;

export interface KneeStep {
  rate: number;
  p50: number;
  p99: number;
  lost: number;
}

export interface Knee {
  /** The highest passing rate (0 when even the first failed). */
  knee: number;
  steps: KneeStep[];
}

export async function findKnee(rates: number[], measure: (rate: number) => Promise<KneeStep>, onStep?: (step: KneeStep) => void): Promise<Knee> {
  const steps: KneeStep[] = [];
  let knee = 0;
  for (const rate of rates) {
    const step = await measure(rate);
    steps.push(step);
    onStep?.(step);
    if (step.p99 > KNEE_P99_LIMIT_MS || step.lost > 0) break;
    knee = rate;
  }
  return { knee, steps };
}
