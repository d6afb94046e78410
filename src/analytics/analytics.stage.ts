// The analytics stage: per-minute message counts and stored payload bytes per address, and
// per-hour counts per sender (top publishers). Counted in the transaction that advances its
// cursors, so every message is counted exactly once.
import type { Stage } from '../queue/stage-runner.ts';
import { upsertPublishedCounts, upsertSenderCounts } from './analytics.repository.ts';

export const ANALYTICS_STAGE = 'analytics';

export function createAnalyticsStage(): Stage {
  return {
    name: ANALYTICS_STAGE,
    async handle(tx, entries) {
      const ids = entries.map((entry) => entry.id);
      await upsertPublishedCounts(tx, ids);
      await upsertSenderCounts(tx, ids);
    },
  };
}
