// The scaling signal: how many workers (processes) of each role the backlog calls for, after the
// rule "more consumers when the backlog grows". Each role gets one worker per threshold's worth of
// its own backlog, within minWorkers..maxWorkers:
//
//   routing, persistence, analytics  rows behind / stageRowsPerWorker, or lag / stageLagSecondsPerWorker,
//                                    whichever asks for more; never more than the 16 lanes of the log,
//                                    since one lane is read by one transaction at a time
//   push                             visible messages in all queues / queueVisiblePerWorker
//   router                           messages published per second / publishRatePerWorker
//   upkeep                           one: its jobs run once across replicas anyway
//
// The numbers are absolute (not "add one"), so an autoscaler can set replicas to them directly and
// several replicas computing them agree. A stage that runs nowhere has a growing lag and asks for
// its maximum: that is the point.
import type { Role, ScalingThresholds } from '../config.ts';
import { ROLES } from '../config.ts';
import type { OpsSnapshot } from './ops-snapshot.ts';

/** switchyard.lane_of() hashes conversations into 16 lanes. */
export const LOG_LANES = 16;

export interface RoleRecommendation {
  role: Role;
  recommended: number;
  /** The backlog numbers the recommendation comes from. */
  signals: {
    rows_behind?: number;
    rows_capped?: boolean;
    lag_seconds?: number;
    visible?: number;
    published_per_second?: number;
  };
  reason: string;
}

export function recommendWorkers(snapshot: OpsSnapshot, t: ScalingThresholds): RoleRecommendation[] {
  const clamp = (n: number, max = t.maxWorkers) => Math.max(t.minWorkers, Math.min(max, n));
  return ROLES.map((role): RoleRecommendation => {
    switch (role) {
      case 'push': {
        const visible = snapshot.queues.visible;
        return {
          role, recommended: clamp(Math.ceil(visible / t.queueVisiblePerWorker)), signals: { visible },
          reason: `${visible} visible messages in client queues, ${t.queueVisiblePerWorker} per worker`,
        };
      }
      case 'router': {
        const rate = Math.round(snapshot.publishedPerSecond * 10) / 10;
        return {
          role, recommended: clamp(Math.ceil(rate / t.publishRatePerWorker)), signals: { published_per_second: rate },
          reason: `${rate} messages published per second over the last minute, ${t.publishRatePerWorker} per worker`,
        };
      }
      case 'upkeep':
        return { role, recommended: clamp(1), signals: {}, reason: 'upkeep jobs run once across replicas; one is enough' };
      default: {
        const stage = snapshot.stages.find((s) => s.stage === role);
        const rows = stage?.rowsBehind ?? 0;
        const lag = Math.round((stage?.lagSeconds ?? 0) * 10) / 10;
        const wanted = Math.max(Math.ceil(rows / t.stageRowsPerWorker), Math.ceil(lag / t.stageLagSecondsPerWorker));
        return {
          role,
          recommended: clamp(wanted, Math.min(t.maxWorkers, LOG_LANES)),
          signals: { rows_behind: rows, rows_capped: stage?.rowsCapped ?? false, lag_seconds: lag },
          reason: `${rows}${stage?.rowsCapped ? ' or more' : ''} rows behind (${t.stageRowsPerWorker} per worker), `
            + `${lag} s behind (${t.stageLagSecondsPerWorker} s per worker)`,
        };
      }
    }
  });
}
