// The analytics stage: per-minute message counts and stored payload bytes per address, and
// per-minute (anomaly detection) and per-hour (top publishers) counts per sender. Counted in the transaction that advances its
// cursors, so every message is counted exactly once. Messages of classified topics are labelled
// in the same transaction (content-classification.ts); labels that reach their topic's threshold
// are published afterwards by the label publisher (a stage must not append to the log it reads).
import type { Stage } from '../queue/stage-runner.ts';
import { upsertPublishedCounts, upsertSenderCounts } from './analytics.repository.ts';
import type { ContentClassification } from './content-classification.ts';

export const ANALYTICS_STAGE = 'analytics';

export interface AnalyticsStageOptions {
  classification?: ContentClassification;
  /** Told after the commit of a batch that labelled messages (wakes the label publisher). */
  onLabelled?: () => void;
}

export function createAnalyticsStage(options: AnalyticsStageOptions = {}): Stage {
  return {
    name: ANALYTICS_STAGE,
    async handle(tx, entries, afterCommit) {
      const ids = entries.map((entry) => entry.id);
      await upsertPublishedCounts(tx, ids);
      await upsertSenderCounts(tx, ids);
      const labelled = (await options.classification?.classify(tx, entries)) ?? 0;
      if (labelled > 0 && options.onLabelled) afterCommit(options.onLabelled);
    },
  };
}
