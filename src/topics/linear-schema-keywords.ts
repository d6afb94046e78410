// What keeps an admin's JSON Schema from freezing the router: ajv's defaults are not linear.
// - `pattern` and `patternProperties` compile to a backtracking RegExp: `^(\w+\s?)*$` against 29
//   characters took 48 s. Here they run on RE2 (re2js), whose matching is linear in the input.
//   What RE2 cannot do in linear time (backreferences, lookaround) makes the schema invalid.
// - `uniqueItems` compares every pair of items with a deep equality: 10,000 items took seconds.
//   Here each item is turned into a canonical text once and looked up in a set: linear in the
//   array's size, which SWITCHYARD_MAX_PAYLOAD_BYTES bounds.
import type { Ajv, SchemaValidateFunction } from 'ajv';
import type { RegExpEngine } from 'ajv/dist/types/index.js';
import { RE2JS } from 're2js';

/** ajv's `code.regExp`: compiles a schema pattern to RE2. Throws on syntax RE2 does not support. */
export const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string, _flags: string) => {
    let re: RE2JS;
    try {
      re = RE2JS.compile(RE2JS.translateRegExp(pattern));
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(`pattern "${pattern}" is not a regular expression that runs in linear time (RE2): ${why}`);
    }
    // ajv keys compiled patterns by toString(): each must differ, as RegExp's do.
    return { test: (text: string) => re.test(text), toString: () => `/${pattern}/re2` };
  },
  { code: 're2js' },
);

/** Replaces ajv's quadratic uniqueItems with a linear one of the same meaning. */
export function useLinearUniqueItems(ajv: Ajv): void {
  ajv.removeKeyword('uniqueItems');
  const uniqueItems: SchemaValidateFunction = (unique: boolean, items: unknown[]) => {
    if (!unique) return true;
    const seen = new Map<string, number>();
    for (const [i, item] of items.entries()) {
      const key = canonicalJson(item);
      const j = seen.get(key);
      if (j !== undefined) {
        uniqueItems.errors = [{
          keyword: 'uniqueItems', params: { i, j },
          message: `must NOT have duplicate items (items ## ${j} and ${i} are identical)`,
        }];
        return false;
      }
      seen.set(key, i);
    }
    return true;
  };
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', validate: uniqueItems });
}

/** JSON with object keys sorted: equal JSON values (as JSON Schema defines it) give equal texts. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
