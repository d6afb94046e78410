// The content classifier: multinomial naive Bayes (wink-naive-bayes-text-classifier) over lower-cased,
// HTML-stripped, stop-word-free, stemmed tokens (wink-nlp-utils). Pure: a model is trained from
// examples, exported to JSON for the database, and imported again by every analytics process.

import naiveBayes from 'wink-naive-bayes-text-classifier';
import nlp from 'wink-nlp-utils';

/** Only the first characters of a text are classified: the cost per message stays bounded, and in
 *  the evaluation longer texts did not help (the signal is in subjects and openings). */
export const CLASSIFY_TEXT_MAX_CHARS = 4_000;

/** Half Laplace smoothing with counts (not mere presence) scored best on the temporal split
 *  (docs/analytics-evaluation.md); it is part of the model, not a setting. */
const MODEL_CONFIG = { considerOnlyPresence: false, smoothingFactor: 0.5 };

export interface Example {
  text: string;
  label: string;
}

export interface Prediction {
  /** The most likely label, or 'unknown' when no token of the text was ever seen. */
  label: string;
  /** Probability of that label against all others, 0..1 (the logistic of its log odds). */
  score: number;
}

export interface TextClassifier {
  predict(text: string): Prediction;
  /** The model as JSON, to store in the database. */
  toJSON(): string;
}

function tokens(text: string): string[] {
  const s = nlp.string;
  return nlp.tokens.stem(nlp.tokens.removeWords(s.tokenize0(s.removeHTMLTags(s.lowerCase(text.slice(0, CLASSIFY_TEXT_MAX_CHARS))))));
}

function wrap(model: ReturnType<typeof naiveBayes>): TextClassifier {
  return {
    predict(text) {
      const odds = model.computeOdds(text);
      const [label, logOdds] = odds[0] ?? ['unknown', 0];
      if (label === 'unknown') return { label, score: 0 };
      return { label, score: 1 / (1 + Math.exp(-logOdds)) };
    },
    toJSON: () => model.exportJSON(),
  };
}

/** Trains a classifier; it needs examples of at least two labels. */
export function trainClassifier(examples: Iterable<Example>): TextClassifier {
  const model = naiveBayes();
  model.definePrepTasks([tokens]);
  model.defineConfig(MODEL_CONFIG);
  const labels = new Set<string>();
  for (const example of examples) {
    model.learn(example.text, example.label);
    labels.add(example.label);
  }
  if (labels.size < 2) throw new Error(`a classifier needs examples of at least two labels, got ${[...labels].join(', ') || 'none'}`);
  model.consolidate();
  return wrap(model);
}

/** Loads a model stored by toJSON(). */
export function loadClassifier(json: string): TextClassifier {
  const model = naiveBayes();
  model.definePrepTasks([tokens]);
  model.importJSON(json);
  model.consolidate();
  return wrap(model);
}
