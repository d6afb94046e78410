// Latency percentiles from the per-minute bucket counts (switchyard.analytics_minute). Only the
// counts per bucket, the sum and the maximum are stored, so a percentile is an estimate: the
// values inside a bucket are taken to be spread evenly from its lower to its upper bound, and the
// bucket holding the maximum ends at the maximum, not at its bound. Reporting bucket bounds
// instead gave "p99": 2000 beside "max": 1148. The minimum is not stored; a percentile never
// falls below the lower bound of the bucket its rank lands in.
import { LATENCY_BUCKET_BOUNDS_MS } from './delivery-recorder.ts';

/** Guards the rank against float error: 0.29 * 100 is 28.999999999999996, not 29. */
const RANK_EPSILON = 1e-9;

/**
 * The `quantile` (0..1) of the counted latencies by nearest rank, interpolated within its bucket
 * and never above `maxMs`; null when nothing was counted.
 */
export function latencyQuantile(buckets: readonly number[], quantile: number, maxMs: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.min(total, Math.max(1, Math.ceil(quantile * total - RANK_EPSILON)));
  let below = 0;
  for (const [i, n] of buckets.entries()) {
    if (n > 0 && below + n >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BUCKET_BOUNDS_MS[i - 1]!;
      const upper = Math.min(LATENCY_BUCKET_BOUNDS_MS[i] ?? Infinity, maxMs);
      // The rank's place among the bucket's n values; the last one sits on the upper end.
      const estimate = lower + ((upper - lower) * (rank - below)) / n;
      return Math.max(0, Math.min(estimate, maxMs));
    }
    below += n;
  }
  return maxMs; // unreachable: the ranks stop at total
}
