#!/usr/bin/env -S node --max-semi-space-size=32
// The command's entry point, in plain JavaScript so that any Node can parse it. Switchyard's code is
// TypeScript that Node runs directly, which needs type stripping without a flag: Node 22.18 or
// newer. On an older Node, say so in one line instead of failing with ERR_UNKNOWN_FILE_EXTENSION.
//
// --max-semi-space-size=32 (in the line above, `npm start`, deploy/Dockerfile and the benchmark's
// launcher): Node 24 lets V8's young generation grow to 128 MB, four times Node 20's ceiling. A
// burst of connections grows it to the top, and a push process then holds about 64 MB it does not
// need: 4 KB per stream of 15,000 idle ones. Capped at 32 MB semi-spaces, 15,000 idle streams cost
// 20.4-23.2 KB each instead of 22.3-27.5, and ingest and broadcast measured no slower
// (bench/RESULTS.md, fifth session).
const MINIMUM = [22, 18];
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < MINIMUM[0] || (major === MINIMUM[0] && minor < MINIMUM[1])) {
  process.stderr.write(`switchyard needs Node.js ${MINIMUM.join('.')} or newer (24 LTS recommended), which runs TypeScript directly; this is Node ${process.version}.\n`);
  process.exit(1);
}
await import('./cli.ts');
