// Untrusted JSON, checked before anything recursive touches it. JSON.parse accepts any nesting,
// but recursive code (zod's z.json(), JSON.stringify, ajv) overflows the stack on a deep enough
// value: a 1 MiB body of "[" is 500,000 levels. And PostgreSQL refuses what JavaScript strings
// allow: U+0000 anywhere in text or jsonb, and unpaired surrogates in jsonb. One such message in a
// group commit would fail every message of its flush, so the router refuses it up front. A number
// too large for a double (1e400) parses to Infinity, which JSON.stringify writes as null: refused
// too, rather than delivered changed.

/** U+0000, or a surrogate without its other half. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain U+0000 or unpaired surrogates';
export const NON_FINITE_NUMBER_MESSAGE = 'a number must be finite (at most about 1.8e308 in size)';

export interface JsonProblem {
  kind: 'depth' | 'text' | 'number';
  /** Where, from the value's root: keys and array indexes. */
  path: (string | number)[];
}

/**
 * The first problem of a parsed JSON value, walking it without recursion: nesting deeper than
 * maxDepth (a scalar is depth 0, `[]` and `{}` are 1, `{"a": [1]}` is 2), a string or key
 * PostgreSQL cannot store, or a number that is not finite.
 */
export function findJsonProblem(value: unknown, maxDepth: number): JsonProblem | undefined {
  // Each entry links to its parent, so that a path costs nothing until a problem needs it.
  interface Entry { value: unknown; depth: number; key: string | number | undefined; parent: Entry | undefined }
  const pathOf = (entry: Entry) => {
    const path: (string | number)[] = [];
    for (let e: Entry | undefined = entry; e?.key !== undefined; e = e.parent) path.unshift(e.key);
    return path;
  };
  const stack: Entry[] = [{ value, depth: 0, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const current = entry.value;
    if (typeof current === 'string') {
      if (!isStorableText(current)) return { kind: 'text', path: pathOf(entry) };
      continue;
    }
    if (typeof current === 'number') {
      if (!Number.isFinite(current)) return { kind: 'number', path: pathOf(entry) };
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    const depth = entry.depth + 1;
    if (depth > maxDepth) return { kind: 'depth', path: pathOf(entry) };
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], depth, key: i, parent: entry });
      continue;
    }
    for (const [key, child] of Object.entries(current)) {
      if (!isStorableText(key)) return { kind: 'text', path: pathOf(entry) };
      stack.push({ value: child, depth, key, parent: entry });
    }
  }
  return undefined;
}

/** Bytes of the value as stored: compact JSON in UTF-8. Call it after findJsonProblem. */
export function jsonByteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}
