// The persistence stage: keeps every message in history, per conversation, for as long as the
// history retention says (much longer than the log's). Its work is one SQL call, so a batch runs as
// one autocommitted statement (switchyard.stage_batch); the general path is for retries.
import { runStageBatch } from '../queue/stage-cursor.repository.ts';
import type { Stage } from '../queue/stage-runner.ts';
import { insertHistoryFromLog } from './history.repository.ts';

export const PERSISTENCE_STAGE = 'persistence';

export function createPersistenceStage(): Stage {
  return {
    name: PERSISTENCE_STAGE,
    handle: (tx, entries) => insertHistoryFromLog(tx, entries.map((entry) => entry.id)),
    async runInOneStatement(db, lanesPerClaim, batchSize, lanes) {
      const batch = await runStageBatch(db, PERSISTENCE_STAGE, lanesPerClaim, batchSize, lanes);
      return batch && { lanes: batch.lanes, processed: batch.entries, fullLane: batch.fullLane, effects: [] };
    },
  };
}
