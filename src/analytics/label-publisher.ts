// Publishes the labels that reached their topic's threshold to topic:switchyard.labels, from the
// outbox the analytics stage fills (message_label.publish_pending). Woken after each stage batch
// that labelled messages; polls as the fallback.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { Worker } from '../queue/worker.ts';
import { publishPendingLabels } from './classifier.repository.ts';

export const LABELS_TOPIC = 'topic:switchyard.labels';
/** Labels published per transaction: one statement, a bounded one. */
const PUBLISH_BATCH = 500;

export function createLabelPublisher(db: Db, pollMs: number, log: Logger, onPublished?: () => void): Worker {
  return new Worker({
    name: 'label-publisher', pollMs, log,
    runOnce: async () => {
      const published = await publishPendingLabels(db, LABELS_TOPIC, PUBLISH_BATCH);
      if (published > 0) onPublished?.();
      return { processed: published, more: published === PUBLISH_BATCH };
    },
  });
}
