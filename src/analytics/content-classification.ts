// Labels the messages of classified topics inside the analytics stage's transaction: which topics
// (cached), the newest model (cached, checked for a newer version every few seconds, so a retrain
// reaches every process without a restart), and the sampling policy that keeps the stage from
// ever falling far behind ingest.
import type { Tx } from '../db/database.ts';
import type { LogEntry } from '../queue/stage-cursor.repository.ts';
import {
  getClassifierModel, getLatestModelVersion, insertMessageLabels, listLoggedPayloads, listTopicClassifiers,
  type NewMessageLabel, type TopicClassifierRow,
} from './classifier.repository.ts';
import { payloadText } from './payload-text.ts';
import { loadClassifier, type TextClassifier } from './text-classifier.ts';

/**
 * The sampling policy. Publishers are never slowed down for classification (the analytics stage
 * is not a backpressure stage by default). Instead, when the oldest message of a batch waited
 * longer than this, the stage is behind, and it classifies one message in ceil(wait / this) of
 * the batch (at most 1 in SAMPLE_MAX), chosen by message id so the choice is the same on a retry.
 * Every message still counts in the rollups; skipped ones get no label and are counted in
 * switchyard_classifier_messages_total{outcome="sampled_out"}.
 */
export const CLASSIFY_BEHIND_MS = 10_000;
export const SAMPLE_MAX = 100;
/** How often a process looks for a newer model and re-reads which topics are classified. */
export const CLASSIFIER_REFRESH_MS = 5_000;

export type ClassifyOutcome = 'classified' | 'sampled_out' | 'no_model';

export interface ContentClassificationOptions {
  now: () => number;
  refreshMs?: number;
  onOutcome?: (outcome: ClassifyOutcome, count: number) => void;
}

/** 1 in how many messages to classify when the oldest waited `waitMs`. */
export function sampleEvery(waitMs: number): number {
  return waitMs <= CLASSIFY_BEHIND_MS ? 1 : Math.min(SAMPLE_MAX, Math.ceil(waitMs / CLASSIFY_BEHIND_MS));
}

/** A stable number from a message id (its random tail), to pick a sample. */
function idBucket(id: string): number {
  return Number.parseInt(id.replaceAll('-', '').slice(-8), 16);
}

export class ContentClassification {
  readonly #o: ContentClassificationOptions;
  #topics: { at: number; byTopic: Map<string, TopicClassifierRow> } | undefined;
  #model: { at: number; version: number; classifier: TextClassifier } | undefined;
  #modelCheckedAt = Number.NEGATIVE_INFINITY;

  constructor(options: ContentClassificationOptions) {
    this.#o = options;
  }

  /** Re-reads which topics are classified at the next batch (a change signalled by any process). */
  invalidateTopics(): void {
    this.#topics = undefined;
  }

  get #refreshMs(): number {
    return this.#o.refreshMs ?? CLASSIFIER_REFRESH_MS;
  }

  async #classifiedTopics(tx: Tx): Promise<Map<string, TopicClassifierRow>> {
    const now = this.#o.now();
    if (!this.#topics || now - this.#topics.at >= this.#refreshMs) {
      this.#topics = { at: now, byTopic: new Map((await listTopicClassifiers(tx)).map((row) => [row.topic, row])) };
    }
    return this.#topics.byTopic;
  }

  async #currentModel(tx: Tx): Promise<{ version: number; classifier: TextClassifier } | undefined> {
    const now = this.#o.now();
    if (now - this.#modelCheckedAt < this.#refreshMs) return this.#model;
    this.#modelCheckedAt = now;
    const latest = await getLatestModelVersion(tx);
    if (latest && latest.version !== this.#model?.version) {
      const row = await getClassifierModel(tx, latest.version);
      if (row) this.#model = { at: now, version: row.version, classifier: loadClassifier(row.model) };
    }
    return this.#model;
  }

  /** Labels the batch's messages on classified topics; returns how many it labelled. */
  async classify(tx: Tx, entries: LogEntry[]): Promise<number> {
    const topics = await this.#classifiedTopics(tx);
    if (topics.size === 0) return 0;
    const candidates = entries.filter((e) => e.to_address.startsWith('topic:') && topics.has(e.to_address.slice(6)));
    if (candidates.length === 0) return 0;
    const model = await this.#currentModel(tx);
    if (!model) {
      this.#o.onOutcome?.('no_model', candidates.length);
      return 0;
    }
    const now = this.#o.now();
    const oldest = Math.min(...candidates.map((e) => e.created_at.getTime()));
    const every = sampleEvery(now - oldest);
    const chosen = every === 1 ? candidates : candidates.filter((e) => idBucket(e.id) % every === 0);
    if (chosen.length < candidates.length) this.#o.onOutcome?.('sampled_out', candidates.length - chosen.length);
    const labels: NewMessageLabel[] = [];
    for (const message of await listLoggedPayloads(tx, chosen.map((e) => e.id))) {
      const topic = topics.get(message.to_address.slice(6))!;
      const prediction = model.classifier.predict(payloadText(message.payload, topic.json_paths));
      labels.push({
        messageId: message.id, topic: topic.topic, label: prediction.label, score: prediction.score, modelVersion: model.version,
        publish: prediction.score >= topic.threshold && prediction.label !== 'unknown' && !topic.quiet_labels.includes(prediction.label),
      });
    }
    await insertMessageLabels(tx, labels, new Date(now));
    this.#o.onOutcome?.('classified', labels.length);
    return labels.length;
  }
}
