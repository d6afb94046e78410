// Builds dist/ (or --out <dir>): ESM JavaScript and type declarations, from src/ with the browser's
// and ES2024's libraries only (no Node types), so that nothing Node-only slips into what browsers load.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// typescript's bin is not among its package exports: find the package, then its bin.
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const out = parseArgs({ options: { out: { type: 'string' } } }).values.out ?? join(root, 'dist');
rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
// tsc rewrites the .ts of relative imports in the JavaScript but not in the declarations.
for (const file of readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.d.ts'))) {
  const path = join(out, file);
  writeFileSync(path, readFileSync(path, 'utf8').replace(/(from '\.{1,2}\/[^']+)\.ts'/g, "$1.js'"));
}
console.log(`built ${out}`);
