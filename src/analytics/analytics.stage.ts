// The analytics stage: per-minute message counts and stored payload bytes per address, and
// per-minute (anomaly detection) and per-hour (top publishers) counts per sender. Counted in the transaction that advances its
// cursors, so every message is counted exactly once. Messages of classified topics are labelled
// in the same transaction (content-classification.ts); labels that reach their topic's threshold
// are published afterwards by the label publisher (a stage must not append to the log it reads).
// While no topic is classified the work is SQL alone, and a batch runs as one autocommitted
// statement (switchyard.stage_batch); the general path labels, and takes retries.
import { runStageBatch } from '../queue/stage-cursor.repository.ts';
import type { Stage } from '../queue/stage-runner.ts';
import { countMessages } from './analytics.repository.ts';
import type { ContentClassification } from './content-classification.ts';

export const ANALYTICS_STAGE = 'analytics';

export interface AnalyticsStageOptions {
  classification?: ContentClassification;
  /** Told after the commit of a batch that labelled messages (wakes the label publisher). */
  onLabelled?: () => void;
}

/**
 * Once the one-statement batch has said that a topic is classified, the stage takes the general
 * path for this long before asking again, which would cost a wasted round trip per batch. The
 * general path is right in every case: the window only delays the return to the one statement
 * after the last topic stops being classified.
 */
const CLASSIFIED_RECHECK_MS = 5_000;

export function createAnalyticsStage(options: AnalyticsStageOptions = {}): Stage {
  let generalPathUntil = 0;
  return {
    name: ANALYTICS_STAGE,
    async handle(tx, entries, afterCommit) {
      await countMessages(tx, entries.map((entry) => entry.id));
      const labelled = (await options.classification?.classify(tx, entries)) ?? 0;
      if (labelled > 0 && options.onLabelled) afterCommit(options.onLabelled);
    },
    async runInOneStatement(db, lanesPerClaim, batchSize, lanes) {
      if (performance.now() < generalPathUntil) return undefined;
      const batch = await runStageBatch(db, ANALYTICS_STAGE, lanesPerClaim, batchSize, lanes);
      if (batch === undefined) generalPathUntil = performance.now() + CLASSIFIED_RECHECK_MS;
      return batch && { lanes: batch.lanes, processed: batch.entries, fullLane: batch.fullLane, effects: [] };
    },
  };
}
