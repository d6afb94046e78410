// npm run eval: scores both models and writes docs/analytics-evaluation.md. Deterministic (seeded).
import { writeFileSync } from 'node:fs';
import { loadSpamCorpus } from '../spam-corpus.ts';
import { evaluateDetectors, ewmaDetector, seasonalDetector } from './anomaly-evaluation.ts';
import { evaluateClassifiers } from './classification-evaluation.ts';
import { COUNT_DETECTOR, EVALUATION_SEED, EWMA_BASELINE } from './evaluation-settings.ts';
import { renderEvaluation } from './evaluation-report.ts';

const started = performance.now();
const emails = loadSpamCorpus();
const classification = evaluateClassifiers(emails, { slice: 1, resamples: 1000, seed: EVALUATION_SEED });
const anomalyOptions = { seriesCount: 12, days: 14, perDay: 4, seed: EVALUATION_SEED, graceMinutes: COUNT_DETECTOR.n };
const anomalies = evaluateDetectors({
  'seasonal median ± k·MAD (shipped)': seasonalDetector(COUNT_DETECTOR),
  'EWMA z-score': ewmaDetector(EWMA_BASELINE),
}, anomalyOptions);
const report = renderEvaluation({ emails: emails.length, classification, anomalies, anomalyOptions });
writeFileSync(new URL('../../../docs/analytics-evaluation.md', import.meta.url), report);
console.log(report);
console.log(`written to docs/analytics-evaluation.md in ${((performance.now() - started) / 1000).toFixed(1)} s`);
