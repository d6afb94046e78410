#!/usr/bin/env node
// The command's entry point, in plain JavaScript so that any Node can parse it. Switchyard's code is
// TypeScript that Node runs directly, which needs type stripping without a flag: Node 22.18 or
// newer. On an older Node, say so in one line instead of failing with ERR_UNKNOWN_FILE_EXTENSION.
const MINIMUM = [22, 18];
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < MINIMUM[0] || (major === MINIMUM[0] && minor < MINIMUM[1])) {
  process.stderr.write(`switchyard needs Node.js ${MINIMUM.join('.')} or newer (24 LTS recommended), which runs TypeScript directly; this is Node ${process.version}.\n`);
  process.exit(1);
}
await import('./cli.ts');
