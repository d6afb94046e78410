// Imports run down the house (docs/conventions.md, Layers and import directions). This test reads
// every file under src/, resolves its relative imports (type-only and dynamic ones too) and fails
// on an import that climbs to a higher layer, on a feature importing a feature it is not allowed
// to, and on any import cycle between files. The layers are written here, bottom to top, so a
// reviewer sees the intended shape in one place; a new top-level folder must be placed in one.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

interface Layer {
  name: string;
  /** Top-level names under src/: a folder, or a file directly in src/. */
  units: string[];
  /**
   * Which units of this same layer a unit may import: 'any' for the two entry layers (one piece
   * wired by another), else the explicit list (a unit missing from it imports no peer).
   */
  peers: 'any' | Record<string, string[]>;
}

/**
 * Features may import features lower in this list's dependency order, and only along these
 * edges. Each edge is a use that belongs there; the list itself must stay free of cycles, so two
 * features never lean on each other. A new edge is a design decision: add it here with its reason.
 */
const FEATURE_IMPORTS: Record<string, string[]> = {
  analytics: ['topics'], // the classifier routes take topic names as topics.schemas spells them
  clients: ['routing'], // a listen-to entry may carry a routing filter policy
  dashboard: ['clients', 'ops', 'webhooks'], // the operator page shows clients, ops numbers and webhook circuits
  groups: [],
  idempotency: [],
  inbox: ['analytics', 'clients', 'idempotency', 'messages', 'ops'], // delivery records receipts and metrics; WebSocket clients publish
  messages: ['idempotency', 'topics'], // publishing checks topic schemas and stores idempotent answers
  ops: ['analytics'], // metrics and snapshots include anomalies and labels
  persistence: ['messages'], // history hands messages out in the one outgoing shape (messages/outgoing-message.ts)
  requests: ['clients', 'messages'], // a request is a publish that waits for its reply
  routing: [],
  topics: [],
  upkeep: ['analytics', 'idempotency', 'routing'], // upkeep runs their periodic jobs
  webhooks: ['clients', 'inbox', 'messages'], // a webhook consumes a client's inbox and reports circuits as messages
};

const LAYERS: Layer[] = [
  { name: 'foundation', units: ['logger.ts', 'teardown.ts'], peers: { 'teardown.ts': ['logger.ts'] } },
  { name: 'database', units: ['db'], peers: {} },
  // Above db: it parses DATABASE_URL with db/database-url.ts. config.ts is the entry to config/,
  // where each setting is declared once.
  { name: 'configuration', units: ['config.ts', 'config'], peers: { 'config.ts': ['config'] } },
  { name: 'http', units: ['http'], peers: {} },
  { name: 'queue machinery and wake-ups', units: ['queue', 'notifications'], peers: {} },
  { name: 'addresses', units: ['addresses'], peers: {} },
  { name: 'auth and access', units: ['auth'], peers: {} },
  { name: 'features', units: Object.keys(FEATURE_IMPORTS), peers: FEATURE_IMPORTS },
  // The composition root wires every feature (main.ts, and src/composition/ when wiring moves there).
  { name: 'composition root', units: ['main.ts', 'composition'], peers: 'any' },
  // The process entry: `switchyard serve` starts the composition root, the other commands run one job.
  { name: 'command line', units: ['switchyard.js', 'cli.ts', 'cli'], peers: 'any' },
];

interface Import {
  from: string; // path under src/
  to: string; // path under src/
  specifier: string;
}

/**
 * The relative module specifiers a source file imports: static imports and re-exports (type-only
 * ones included), side-effect imports and dynamic import() of a literal. Comments are skipped.
 */
function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^[ \t]*\/\/.*$/gm, '');
  const pattern =
    /^[ \t]*(?:import|export)\b[^;=()'"`]*?\bfrom\s*['"]([^'"]+)['"]|^[ \t]*import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;
  return [...code.matchAll(pattern)].map((m) => (m[1] ?? m[2] ?? m[3])!).filter((specifier) => specifier.startsWith('.'));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function readImports(): { files: string[]; imports: Import[] } {
  const files = sourceFiles(SRC).map((file) => path.relative(SRC, file).split(path.sep).join('/'));
  const imports = files.flatMap((from) =>
    importSpecifiers(readFileSync(path.join(SRC, from), 'utf8')).flatMap((specifier) => {
      const to = path.relative(SRC, path.resolve(SRC, path.dirname(from), specifier)).split(path.sep).join('/');
      return to.startsWith('..') ? [] : [{ from, to, specifier }];
    }),
  );
  return { files, imports };
}

const unitOf = (file: string) => file.split('/')[0]!;

function layerOf(unit: string): number {
  return LAYERS.findIndex((layer) => layer.units.includes(unit));
}

/** Why this import breaks the layering, or undefined when it runs down (or stays in its unit). */
function importProblem({ from, to, specifier }: Import): string | undefined {
  const fromUnit = unitOf(from);
  const toUnit = unitOf(to);
  if (fromUnit === toUnit) return undefined;
  const fromLayer = layerOf(fromUnit);
  const toLayer = layerOf(toUnit);
  const where = `src/${from} imports '${specifier}' (src/${to})`;
  if (toLayer > fromLayer) {
    return `${where}: ${fromUnit} (layer ${LAYERS[fromLayer]!.name}) may not import ${toUnit} (layer ${LAYERS[toLayer]!.name}, above it)`;
  }
  if (toLayer < fromLayer) return undefined;
  const peers = LAYERS[fromLayer]!.peers;
  if (peers === 'any' || (peers[fromUnit] ?? []).includes(toUnit)) return undefined;
  return `${where}: ${fromUnit} may not import ${toUnit}, another unit of layer ${LAYERS[fromLayer]!.name}` +
    (fromLayer === layerOf('messages') ? ' (add the edge to FEATURE_IMPORTS with its reason if it belongs there)' : '');
}

/** One cycle of the graph, as a path that returns to its start, or undefined when it has none. */
function findCycle(edges: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of [...edges.keys()].sort()) {
    if (state.get(node) === undefined) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return undefined;
}

function graph(pairs: [string, string][]): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const [from, to] of pairs) edges.set(from, [...(edges.get(from) ?? []), to]);
  return edges;
}

describe('the import reader', () => {
  test('sees static, type-only, multi-line, re-exported, side-effect and dynamic imports, and skips comments', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type { B } from '../b/b.ts';",
      'import {',
      '  c,',
      '  type D,',
      "} from './c.ts';",
      "export { e } from './e.ts';",
      "export type { F } from './f.ts';",
      "import './g.ts';",
      "const h = await import('./h.ts');",
      "import { z } from 'zod';",
      "// import { x } from './commented.ts';",
      "/* import { y } from './block.ts'; */",
      "export const from = 'from';",
      "export function f(x = './not-an-import.ts') { return x; }",
    ].join('\n');
    expect(importSpecifiers(source)).toEqual(['./a.ts', '../b/b.ts', './c.ts', './e.ts', './f.ts', './g.ts', './h.ts']);
  });

  test('finds the imports of src/ files (the reader is not blind)', () => {
    const { files, imports } = readImports();
    expect(files).toContain('main.ts');
    // main.ts wires the features: it must be seen importing many of them.
    const fromMain = new Set(imports.filter((i) => i.from === 'main.ts').map((i) => unitOf(i.to)));
    expect(fromMain.size).toBeGreaterThan(10);
    expect(imports).toContainEqual({ from: 'topics/topic-policies.ts', to: 'topics/topics.repository.ts', specifier: './topics.repository.ts' });
  });
});

describe('the rules', () => {
  test('an upward import is named with its file, import and rule', () => {
    expect(importProblem({ from: 'db/database.ts', to: 'messages/messages.service.ts', specifier: '../messages/messages.service.ts' })).toBe(
      "src/db/database.ts imports '../messages/messages.service.ts' (src/messages/messages.service.ts): " +
        'db (layer database) may not import messages (layer features, above it)',
    );
    expect(importProblem({ from: 'auth/access.ts', to: 'groups/membership.ts', specifier: '../groups/membership.ts' })).toMatch(
      /auth \(layer auth and access\) may not import groups \(layer features, above it\)/,
    );
  });

  test('a feature imports another feature only along an allowed edge', () => {
    expect(importProblem({ from: 'inbox/ws-session.ts', to: 'messages/publisher.ts', specifier: '../messages/publisher.ts' })).toBeUndefined();
    expect(importProblem({ from: 'messages/backpressure.ts', to: 'inbox/full-queues.ts', specifier: '../inbox/full-queues.ts' })).toMatch(
      /messages may not import inbox, another unit of layer features/,
    );
  });

  test('downward imports, imports within a unit, and the composition root importing anything pass', () => {
    expect(importProblem({ from: 'messages/messages.service.ts', to: 'auth/access.ts', specifier: '../auth/access.ts' })).toBeUndefined();
    expect(importProblem({ from: 'topics/topics.service.ts', to: 'topics/topic-policies.ts', specifier: './topic-policies.ts' })).toBeUndefined();
    expect(importProblem({ from: 'composition/http.ts', to: 'main.ts', specifier: '../main.ts' })).toBeUndefined();
    expect(importProblem({ from: 'main.ts', to: 'webhooks/webhooks.routes.ts', specifier: './webhooks/webhooks.routes.ts' })).toBeUndefined();
  });

  test('a cycle is found and printed as the path that closes it', () => {
    expect(findCycle(graph([['a', 'b'], ['b', 'c'], ['c', 'b'], ['d', 'a']]))).toEqual(['b', 'c', 'b']);
    expect(findCycle(graph([['a', 'b'], ['b', 'c'], ['a', 'c']]))).toBeUndefined();
  });

  test('the allowed feature edges form no cycle and name only features', () => {
    const features = Object.keys(FEATURE_IMPORTS);
    for (const targets of Object.values(FEATURE_IMPORTS)) for (const target of targets) expect(features).toContain(target);
    expect(findCycle(graph(Object.entries(FEATURE_IMPORTS).flatMap(([from, to]) => to.map((t) => [from, t] as [string, string]))))).toBeUndefined();
  });
});

describe('src/', () => {
  const { files, imports } = readImports();

  test('every top-level folder and file of src/ has a layer', () => {
    const unplaced = [...new Set(files.map(unitOf))].filter((unit) => layerOf(unit) < 0);
    expect(unplaced, 'place each in LAYERS in test/architecture.test.ts').toEqual([]);
  });

  test('no file imports from a layer above its own, nor a feature it is not allowed to', () => {
    expect(imports.map(importProblem).filter((problem) => problem !== undefined)).toEqual([]);
  });

  test('no import cycle between files', () => {
    const cycle = findCycle(graph(imports.map((i) => [i.from, i.to])));
    expect(cycle?.join(' -> '), 'an import cycle').toBeUndefined();
  });

  test('every allowed feature edge is used (the list stays true)', () => {
    const used = new Set(imports.map((i) => `${unitOf(i.from)} -> ${unitOf(i.to)}`));
    const unused = Object.entries(FEATURE_IMPORTS).flatMap(([from, to]) => to.map((t) => `${from} -> ${t}`)).filter((edge) => !used.has(edge));
    expect(unused, 'remove these from FEATURE_IMPORTS').toEqual([]);
  });
});
