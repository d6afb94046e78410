// npm run chaos [-- --tiny] [--only a,b] [--no-write]
//
// The fault suite: each scenario (test/chaos/scenarios.ts) runs publish and consume load with
// exact books against its own PostgreSQL and service processes, injects its fault, drains, and
// reports. The table goes into docs/reliability.md between the generated-results markers; the
// analysis around it is written by people. `--tiny` is the small size that npm test also runs.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killChildren } from '../../bench/lib/processes.ts';
import { FULL, SCENARIOS, TINY, type ScenarioResult } from './scenarios.ts';

const { values } = parseArgs({
  options: { tiny: { type: 'boolean', default: false }, only: { type: 'string' }, 'no-write': { type: 'boolean', default: false } },
});
const RESULTS = path.resolve(import.meta.dirname, '../../docs/reliability.md');
const START = '<!-- generated results: start -->';
const END = '<!-- generated results: end -->';

export function renderTable(results: ScenarioResult[]): string {
  const rows = results.map((r) => {
    const errors = Object.entries(r.errors).map(([status, n]) => `${status}: ${n}`).join(', ') || 'none';
    return `| ${r.scenario} | ${r.load} | ${r.faults} | ${r.accepted} | ${r.delivered} | ${Number.isNaN(r.recoverySeconds) ? `${r.lost} not yet received when the wait ended (not drained: not proof of loss)` : r.lost} | ${r.duplicates} (${r.redeliveries} after a lease ran out) | ${errors} | ${r.outageSeconds.toFixed(1)} s | ${Number.isNaN(r.recoverySeconds) ? 'did not drain' : `${r.recoverySeconds.toFixed(1)} s`} | ${r.notes} |`;
  });
  return ['| scenario | load | faults | accepted | delivered to every consumer | lost | duplicates | client-visible errors by status | longest stretch without a 202 | fault end to drained | notes |',
    '|---|---|---|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}

async function main(): Promise<void> {
  const size = values.tiny ? TINY : FULL;
  const chosen = Object.keys(SCENARIOS).filter((key) => !values.only || values.only.split(',').includes(key));
  const results: ScenarioResult[] = [];
  for (const [i, key] of chosen.entries()) {
    process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] [${i + 1}/${chosen.length}] ${key}\n`);
    const result = await SCENARIOS[key]!(size);
    process.stderr.write(`  accepted ${result.accepted}, lost ${result.lost}, duplicates ${result.duplicates}, errors ${JSON.stringify(result.errors)} ${result.notes}\n`);
    results.push(result);
  }
  const table = `Run of ${new Date().toISOString().slice(0, 16)}Z, ${values.tiny ? 'tiny size' : 'full size'}, Node ${process.version}:\n\n${renderTable(results)}`;
  process.stdout.write(`${table}\n`);
  if (!values['no-write'] && !values.only) {
    const text = await readFile(RESULTS, 'utf8');
    await writeFile(RESULTS, `${text.slice(0, text.indexOf(START) + START.length)}\n${table}\n${text.slice(text.indexOf(END))}`);
  }
  const failed = results.filter((r) => r.lost > 0 || r.duplicates > 0 || Number.isNaN(r.recoverySeconds));
  if (failed.length > 0) throw new Error(`lost or duplicated messages in ${failed.map((r) => r.scenario).join(', ')}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => {
  killChildren();
  process.exit(130);
});
main().catch((error: unknown) => {
  killChildren();
  process.stderr.write(`chaos: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
