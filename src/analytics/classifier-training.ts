// Retraining: the starter corpus plus everything operators taught, into a new model version in
// the database. Runs as a pg-boss singleton job (upkeep.ts), so one process trains at a time; every
// analytics process then loads the new version by itself (content-classification.ts).
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { everyNth } from './evaluation/classification-evaluation.ts';
import {
  getClassifierModel, getLatestModelVersion, insertClassifierModel, listClassifierTeachings, listTopicClassifiers,
} from './classifier.repository.ts';
import { loadSpamCorpus, type CorpusEmail } from './spam-corpus.ts';
import { trainClassifier, type Example } from './text-classifier.ts';

/** A taught example counts as this many corpus emails: a handful of operator labels must be able
 *  to move a model trained on thousands of emails, or teaching would change nothing. */
export const TAUGHT_EXAMPLE_WEIGHT = 50;

export interface RetrainOptions {
  now: () => Date;
  /** Train on every nth corpus email (1 in production; tests take a slice to stay fast). */
  corpusSlice?: number;
  log?: Logger;
}

let corpus: CorpusEmail[] | undefined; // read once per process: about 6,000 emails from disk

/** Trains a new version when a topic is classified and there is no model yet, or operators taught
 *  something since the last one; returns the new version, or undefined when nothing changed. A
 *  deployment that classifies nothing never spends the seconds training takes. */
export async function retrainClassifier(db: Db, options: RetrainOptions): Promise<number | undefined> {
  const latest = await getLatestModelVersion(db);
  if (!latest && (await listTopicClassifiers(db)).length === 0) return undefined;
  const teachings = await listClassifierTeachings(db);
  if (latest) {
    const model = await getClassifierModel(db, latest.version);
    const newest = Math.max(0, ...teachings.map((t) => t.taught_at.getTime()));
    if (model && model.taught_examples === teachings.length && newest <= latest.trained_at.getTime()) return undefined;
  }
  corpus ??= loadSpamCorpus();
  const base = everyNth(corpus, options.corpusSlice ?? 1);
  const taught: Example[] = teachings.flatMap((t) => Array.from({ length: TAUGHT_EXAMPLE_WEIGHT }, () => ({ text: t.text, label: t.label })));
  const classifier = trainClassifier([...base, ...taught]);
  const version = await insertClassifierModel(db, {
    trainedAt: options.now(), corpusExamples: base.length, taughtExamples: teachings.length, json: classifier.toJSON(),
  });
  options.log?.info('classifier trained', { version, corpusExamples: base.length, taughtExamples: teachings.length });
  return version;
}
