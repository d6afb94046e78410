// switchyard stage-dlq list|redrive STAGE: the messages a stage gave up on after its retries, like
// GET and POST /v1/admin/stages/{stage}/dead-letters. Redrive gives them back to the stage's
// retries in bounded batches (STAGE_REDRIVE_MAX a statement) and wakes the running stages.
import { STAGES } from '../config.ts';
import type { Db } from '../db/database.ts';
import { sendNotification } from '../notifications/notify.repository.ts';
import { STAGE_DEAD_LETTERS_LIST_MAX, STAGE_REDRIVE_MAX } from '../ops/stage-dead-letters.schemas.ts';
import { listStageDeadLetters, redriveStageDeadLetters } from '../queue/stage-retry.repository.ts';
import { formatTable, truncate } from './text-table.ts';
import { UsageError } from './usage-error.ts';

export const STAGE_DLQ_USAGE = `usage: switchyard stage-dlq list STAGE [--limit N]
       switchyard stage-dlq redrive STAGE [--messages ID,...]     (STAGE: ${STAGES.join(', ')})`;
const LIST_LIMIT_DEFAULT = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StageDlqArgs {
  sub: string | undefined;
  stage: string | undefined;
  limit: string | undefined;
  messages: string | undefined;
}

export function stageDlqCommand(a: StageDlqArgs, out: NodeJS.WritableStream): (db: Db) => Promise<void> {
  if (a.sub !== 'list' && a.sub !== 'redrive') throw new UsageError(STAGE_DLQ_USAGE);
  const stage = a.stage;
  if (stage === undefined || !STAGES.includes(stage)) throw new UsageError(`stage-dlq ${a.sub} needs a STAGE: one of ${STAGES.join(', ')}`);
  if (a.sub === 'list') {
    const limit = a.limit === undefined ? LIST_LIMIT_DEFAULT : Number(a.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > STAGE_DEAD_LETTERS_LIST_MAX) {
      throw new UsageError(`--limit must be a whole number from 1 to ${STAGE_DEAD_LETTERS_LIST_MAX}`);
    }
    return async (db) => {
      const rows = (await listStageDeadLetters(db, stage, limit)).map((d) => [
        d.failed_at.toISOString(), d.message_id, String(d.attempts), truncate(d.last_error, 60),
      ]);
      out.write(`${formatTable(['FAILED AT', 'MESSAGE', 'ATTEMPTS', 'LAST ERROR'], rows).join('\n')}\n`);
    };
  }
  const ids = a.messages?.split(',').map((id) => id.trim());
  const bad = ids?.find((id) => !UUID.test(id));
  if (bad !== undefined) throw new UsageError(`--messages ${bad}: not a message id`);
  if (ids !== undefined && ids.length > STAGE_REDRIVE_MAX) throw new UsageError(`--messages takes at most ${STAGE_REDRIVE_MAX} ids`);
  return async (db) => {
    let moved = 0;
    for (;;) {
      const batch = await redriveStageDeadLetters(db, stage, ids, STAGE_REDRIVE_MAX);
      moved += batch;
      if (batch < STAGE_REDRIVE_MAX || ids !== undefined) break;
    }
    // Running stages look for due retries now rather than at their next poll.
    if (moved > 0) await sendNotification(db, 'log', [], 'cli');
    out.write(`${moved} ${stage} dead letters redriven\n`);
  };
}
