// The analytics stage: per-minute message counts and stored payload bytes per address. Counted in
// the transaction that advances its cursors, so every message is counted exactly once.
import type { Stage } from '../queue/stage-runner.ts';
import { upsertPublishedCounts } from './analytics.repository.ts';

export const ANALYTICS_STAGE = 'analytics';

export function createAnalyticsStage(): Stage {
  return {
    name: ANALYTICS_STAGE,
    handle: (tx, entries) => upsertPublishedCounts(tx, entries.map((entry) => entry.id)),
  };
}
