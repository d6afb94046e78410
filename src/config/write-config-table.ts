// `npm run docs:config`: writes the configuration table into README.md from the settings.
import { readFileSync, writeFileSync } from 'node:fs';
import { replaceConfigTable } from './config-table.ts';

const readmePath = new URL('../../README.md', import.meta.url);
const before = readFileSync(readmePath, 'utf8');
const after = replaceConfigTable(before);
if (after === before) {
  process.stdout.write('README.md configuration table is up to date\n');
} else {
  writeFileSync(readmePath, after);
  process.stdout.write('README.md configuration table rewritten from src/config/settings.ts\n');
}
