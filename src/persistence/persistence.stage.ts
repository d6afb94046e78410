// The persistence stage: keeps every message in history, per conversation, for as long as the
// history retention says (much longer than the log's).
import type { Stage } from '../queue/stage-runner.ts';
import { insertHistoryFromLog } from './history.repository.ts';

export const PERSISTENCE_STAGE = 'persistence';

export function createPersistenceStage(): Stage {
  return {
    name: PERSISTENCE_STAGE,
    handle: (tx, entries) => insertHistoryFromLog(tx, entries.map((entry) => entry.id)),
  };
}
