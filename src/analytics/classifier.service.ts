// Admin side of content classification: which topics are classified and how, and teaching.
import type { Db } from '../db/database.ts';
import { fieldProblem } from '../http/problem.ts';
import {
  countLabelsByTopic, deleteTopicClassifier, getLatestModelVersion, listLoggedPayloads, listTopicClassifiers,
  upsertClassifierTeachings, upsertTopicClassifier, type TopicClassifierRow,
} from './classifier.repository.ts';
import { THRESHOLD_DEFAULT } from './classifier.schemas.ts';
import { payloadText } from './payload-text.ts';

/** Topics the service publishes to itself: classifying them would label its own label events. */
export const RESERVED_TOPIC_PREFIX = 'switchyard.';

export interface TopicClassifierChange {
  json_paths?: string[] | null | undefined;
  threshold?: number | undefined;
  quiet_labels?: string[] | undefined;
}

export class ClassifierService {
  readonly #db: Db;
  readonly #now: () => Date;
  readonly #onChange: (topic: string) => void;

  /** onChange is told of every change to a topic's classifier (the composition root, composition/http-app.ts, signals it to all processes). */
  constructor(db: Db, now: () => Date, onChange: (topic: string) => void) {
    this.#db = db;
    this.#now = now;
    this.#onChange = onChange;
  }

  async topic(topic: string): Promise<TopicClassifierRow | undefined> {
    return (await listTopicClassifiers(this.#db)).find((row) => row.topic === topic);
  }

  async putTopic(topic: string, change: TopicClassifierChange): Promise<TopicClassifierRow> {
    if (topic.startsWith(RESERVED_TOPIC_PREFIX)) {
      throw fieldProblem('ValidationFailed', [{ path: 'topic', message: `topics starting with ${RESERVED_TOPIC_PREFIX} are the service's own and are not classified` }]);
    }
    const row = await upsertTopicClassifier(this.#db, topic, {
      jsonPaths: change.json_paths ?? null, threshold: change.threshold ?? THRESHOLD_DEFAULT, quietLabels: [...new Set(change.quiet_labels ?? ['ham'])],
    });
    this.#onChange(topic);
    return row;
  }

  async deleteTopic(topic: string): Promise<boolean> {
    const deleted = await deleteTopicClassifier(this.#db, topic);
    this.#onChange(topic);
    return deleted;
  }

  /** Stores the right labels of messages still in the log, with the text the classifier saw. */
  async teach(labels: { message_id: string; label: string }[]): Promise<number> {
    const messages = new Map((await listLoggedPayloads(this.#db, labels.map((l) => l.message_id))).map((m) => [m.id, m]));
    const missing = labels.flatMap((l, i) => (messages.has(l.message_id) ? [] : [{ path: `labels.${i}.message_id`, message: 'no such message in the log' }]));
    if (missing.length > 0) throw fieldProblem('NotFound', missing);
    const topics = new Map((await listTopicClassifiers(this.#db)).map((row) => [`topic:${row.topic}`, row]));
    const byId = new Map(labels.map((l) => [l.message_id, l.label])); // the last label given for an id wins
    await upsertClassifierTeachings(this.#db, [...byId].map(([messageId, label]) => {
      const message = messages.get(messageId)!;
      return { messageId, label, text: payloadText(message.payload, topics.get(message.to_address)?.json_paths ?? null) };
    }), this.#now());
    return byId.size;
  }

  async status() {
    const [model, topics, labels] = await Promise.all([
      getLatestModelVersion(this.#db), listTopicClassifiers(this.#db), countLabelsByTopic(this.#db, new Date(this.#now().getTime() - 3_600_000)),
    ]);
    return { model: model ?? null, topics, labels };
  }
}
