// Writes API.md, the typed API reference, from the declarations tsc generates from src/ (run the
// build first; `npm run docs` does both): each public module's exported declarations with their
// doc comments, private members and imports left out. --check fails when API.md is out of date.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The modules index.ts re-exports, in reading order. */
const MODULES = ['client', 'consumer', 'types', 'errors', 'http', 'backoff'];

export function renderApiReference(): string {
  const sections = MODULES.map((name) => {
    const text = readFileSync(join(root, 'dist', `${name}.d.ts`), 'utf8')
      .split('\n')
      .filter((line) => !/^import /.test(line) && !/^\s*#private;$/.test(line) && !/^export \{\};$/.test(line))
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim();
    return `## ${name}\n\n\`\`\`ts\n${text}\n\`\`\``;
  });
  return [
    '# @switchyard/client API reference',
    '',
    'Generated from the source by `npm run docs --workspace client` (scripts/api-reference.ts): the declarations',
    'the build emits, with their doc comments. Everything here is exported from `@switchyard/client`.',
    '',
    ...sections,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  execFileSync(process.execPath, [join(root, 'scripts', 'build.ts')], { stdio: 'ignore' });
  const file = join(root, 'API.md');
  const next = renderApiReference();
  if (process.argv.includes('--check')) {
    if (readFileSync(file, 'utf8') !== next) {
      console.error('client/API.md is out of date: run npm run docs --workspace client');
      process.exit(1);
    }
  } else {
    writeFileSync(file, next);
    console.log('wrote client/API.md');
  }
}
