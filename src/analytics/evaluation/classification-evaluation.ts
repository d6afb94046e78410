// Scores the shipped spam/ham classifier and two baselines on the temporal split of the
// SpamAssassin corpus (train on the 2002 collections, test on the 2003 ones).
import { temporalSplit, type CorpusEmail } from '../spam-corpus.ts';
import { trainClassifier, type TextClassifier } from '../text-classifier.ts';
import { bootstrapScores, type Outcome, type ScoresWithIntervals } from './classification-metrics.ts';

export interface ClassificationResult {
  model: string;
  train: number;
  test: number;
  scores: ScoresWithIntervals;
}

/** Every nth email of each half: the CI test runs on a slice so that training stays fast. */
export function everyNth<T>(items: T[], n: number): T[] {
  return items.filter((_, i) => i % n === 0);
}

/** A second, simpler model: spam when the text has at least this many links (bulk mail sells by
 *  links), which is what a first rule-writer would try. */
const LINKS_FOR_SPAM = 3;

export function evaluateClassifiers(emails: CorpusEmail[], options: { slice: number; resamples: number; seed: number }): ClassificationResult[] {
  const split = temporalSplit(emails);
  const train = everyNth(split.train, options.slice);
  const test = everyNth(split.test, options.slice);
  const outcomes = (predict: (text: string) => boolean): Outcome[] => test.map((e) => ({ actual: e.label === 'spam', predicted: predict(e.text) }));
  const shipped: TextClassifier = trainClassifier(train);
  const spamShare = train.filter((e) => e.label === 'spam').length / train.length;
  const models: Record<string, (text: string) => boolean> = {
    'naive Bayes (shipped)': (text) => shipped.predict(text).label === 'spam',
    [`majority class (${spamShare >= 0.5 ? 'spam' : 'ham'})`]: () => spamShare >= 0.5,
    [`links rule (>= ${LINKS_FOR_SPAM} links)`]: (text) => (text.match(/https?:\/\//gi)?.length ?? 0) >= LINKS_FOR_SPAM,
  };
  return Object.entries(models).map(([model, predict]) => ({
    model, train: train.length, test: test.length, scores: bootstrapScores(outcomes(predict), options.resamples, options.seed),
  }));
}
