import { z } from '@hono/zod-openapi';
import { STAGES } from '../config.ts';

/** Dead letters listed per call at most: a stage gives up on few messages, and a page must stay small. */
export const STAGE_DEAD_LETTERS_LIST_MAX = 1_000;
/** Dead letters redriven per call at most: one statement, so its locks and the retry burst stay bounded. */
export const STAGE_REDRIVE_MAX = 1_000;

export const StageParams = z.object({
  stage: z.string().refine((s) => STAGES.includes(s), `not a stage: one of ${STAGES.join(', ')}`)
    .openapi({ param: { name: 'stage', in: 'path' }, enum: [...STAGES], example: 'routing' }),
});

export const StageDeadLetterQuery = z.object({
  limit: z.coerce.number().int().min(1).max(STAGE_DEAD_LETTERS_LIST_MAX).default(100),
});

export const StageDeadLetterSchema = z
  .object({
    stage: z.string(),
    message_id: z.string().openapi({ description: 'the message in the log the stage failed on' }),
    attempts: z.number().int(),
    first_failed_at: z.string(),
    failed_at: z.string().openapi({ description: 'when the stage gave up on it' }),
    last_error: z.string(),
  })
  .openapi('StageDeadLetter');

export const StageDeadLetterListSchema = z
  .object({ dead_letters: z.array(StageDeadLetterSchema).openapi({ description: 'newest first' }) })
  .openapi('StageDeadLetterList');

export const StageRedriveSchema = z
  .strictObject({
    message_ids: z.array(z.uuid()).min(1).max(STAGE_REDRIVE_MAX).optional()
      .openapi({ description: `only these (1-${STAGE_REDRIVE_MAX}); absent: the oldest ${STAGE_REDRIVE_MAX} of the stage` }),
  })
  .openapi('StageRedrive');

export const StageRedrivenSchema = z
  .object({
    redriven: z.number().int().openapi({ description: `moved back to the stage's retries, due now; ${STAGE_REDRIVE_MAX} means call again for more` }),
  })
  .openapi('StageRedriven');
