import { z } from '@hono/zod-openapi';
import { JSON_PATH_PATTERN } from './payload-text.ts';

/** Limits of the classifier API (documented in the README, tested at their edges). */
export const JSON_PATHS_MAX = 16;
export const QUIET_LABELS_MAX = 16;
export const TEACH_LABELS_MAX = 1_000;
export const LABEL_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;
export const THRESHOLD_DEFAULT = 0.9;

const Label = z.string().regex(LABEL_PATTERN, 'a label is 1-40 lower-case letters, digits, _ and -, starting with a letter or digit');

export const TopicClassifierBodySchema = z
  .strictObject({
    json_paths: z.array(z.string().regex(JSON_PATH_PATTERN, 'a path is $ followed by 1-8 .keys (array indexes as numbers)'))
      .min(1).max(JSON_PATHS_MAX).nullable().optional()
      .openapi({ description: 'which strings of the payload are classified; null or absent: every string value', example: ['$.title', '$.body'] }),
    threshold: z.number().min(0).max(1).optional()
      .openapi({ description: `labels scoring at least this are published to topic:switchyard.labels (default ${THRESHOLD_DEFAULT})` }),
    quiet_labels: z.array(Label).max(QUIET_LABELS_MAX).optional()
      .openapi({ description: 'labels never published, however sure (default ["ham"], the normal class)' }),
  })
  .openapi('TopicClassifierChange');

export const TopicClassifierSchema = z
  .object({
    topic: z.string(),
    json_paths: z.array(z.string()).nullable(),
    threshold: z.number(),
    quiet_labels: z.array(z.string()),
    updated_at: z.string(),
  })
  .openapi('TopicClassifier');

export const TopicClassifierDeletedSchema = z.object({ topic: z.string(), deleted: z.boolean() }).openapi('TopicClassifierDeleted');

export const TeachBodySchema = z
  .strictObject({
    labels: z.array(z.strictObject({ message_id: z.uuid(), label: Label })).min(1).max(TEACH_LABELS_MAX),
  })
  .openapi('ClassifierTeaching');

export const TaughtSchema = z
  .object({ taught: z.number().int().openapi({ description: 'labels stored; the next retrain (within a minute) uses them' }) })
  .openapi('ClassifierTaught');

export const ClassifierStatusSchema = z
  .object({
    model: z.object({ version: z.number().int(), trained_at: z.string() }).nullable(),
    topics: z.array(TopicClassifierSchema),
    labels_last_hour: z.array(z.object({ topic: z.string(), label: z.string(), messages: z.number().int(), mean_score: z.number() })),
  })
  .openapi('ClassifierStatus');
