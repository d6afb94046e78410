// The filter-policy language on its own: the service's evaluator against a straightforward
// reference written here from the README's description, on generated policies and messages, and
// the checks that refuse bad policies. (test/routing/content-routing.test.ts proves every operator
// end to end against PostgreSQL.)
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { matchesPolicy, type FilterableMessage, type FilterPolicy } from '../../src/routing/filter-policy.ts';
import {
  POLICY_MAX_BYTES, POLICY_MAX_DEPTH, POLICY_MAX_KEYS, POLICY_MAX_VALUES, policyLimitProblem, policyProblems,
} from '../../src/routing/filter-policy.schemas.ts';

// ---- the reference: each rule of the README, in the plainest form ----------------------------

const ABSENT = Symbol('absent');

function referenceMatches(policy: Record<string, unknown>, message: FilterableMessage): boolean {
  const document: Record<string, unknown> = { from: message.from, to: message.to, payload: message.payload };
  if (message.type !== null) document.type = message.type;
  if (message.headers !== null) document.headers = message.headers;
  return objectMatches(policy, document);
}

/** Every key of the policy holds (AND); $or holds when one branch does. A list value: any element. */
function objectMatches(policy: Record<string, unknown>, value: unknown): boolean {
  if (Array.isArray(value)) {
    let any = false;
    for (const element of value) if (objectMatches(policy, element)) any = true;
    return any;
  }
  for (const key of Object.keys(policy)) {
    const rule = policy[key];
    if (key === '$or') {
      let any = false;
      for (const branch of rule as Record<string, unknown>[]) if (objectMatches(branch, value)) any = true;
      if (!any) return false;
      continue;
    }
    const field = typeof value === 'object' && value !== null && key in value ? (value as Record<string, unknown>)[key] : ABSENT;
    if (Array.isArray(rule)) {
      let any = false;
      for (const matcher of rule) if (leafMatches(matcher, field)) any = true;
      if (!any) return false;
    } else if (!objectMatches(rule as Record<string, unknown>, field === ABSENT ? {} : field)) {
      return false;
    }
  }
  return true;
}

function leafMatches(matcher: unknown, field: unknown): boolean {
  if (typeof matcher === 'object' && matcher !== null && 'exists' in matcher) return (matcher as { exists: boolean }).exists === (field !== ABSENT);
  if (field === ABSENT) return false;
  const candidates = Array.isArray(field) ? field : [field];
  return candidates.some((value) => scalarMatches(matcher, value));
}

function scalarMatches(matcher: unknown, value: unknown): boolean {
  if (typeof matcher !== 'object' || matcher === null) return matcher === value;
  const [operator, operand] = Object.entries(matcher)[0]!;
  const text = typeof value === 'string' ? value : undefined;
  if (operator === 'prefix') return text !== undefined && text.slice(0, (operand as string).length) === operand;
  if (operator === 'suffix') return text !== undefined && text.length >= (operand as string).length && text.slice(text.length - (operand as string).length) === operand;
  if (operator === 'equals-ignore-case') return text !== undefined && text.toLowerCase() === (operand as string).toLowerCase();
  if (operator === 'numeric') {
    if (typeof value !== 'number') return false;
    const pairs = operand as (string | number)[];
    for (let i = 0; i < pairs.length; i += 2) {
      const bound = pairs[i + 1] as number;
      const ok = { '=': value === bound, '>': value > bound, '>=': value >= bound, '<': value < bound, '<=': value <= bound }[pairs[i] as string];
      if (!ok) return false;
    }
    return true;
  }
  if (operator === 'anything-but') {
    if (typeof value !== 'string' && typeof value !== 'number') return false;
    if (Array.isArray(operand)) return operand.every((excluded) => excluded !== value);
    if (typeof operand === 'object' && operand !== null) return text !== undefined && !text.startsWith((operand as { prefix: string }).prefix);
    return operand !== value;
  }
  throw new Error(`reference: unknown operator ${operator}`);
}

// ---- generators: small pools, so that policies and messages meet often ----------------------

const words = fc.constantFrom('order', 'order.created', 'Order.Created', 'refund', 'eu-west', 'us-east', 'x');
const numbers = fc.constantFrom(0, 1, 5, 99.5, 100, 250, -3);
const scalar = fc.oneof(words, numbers, fc.boolean(), fc.constant(null));
const matcher = fc.oneof(
  scalar,
  fc.record({ prefix: fc.constantFrom('o', 'order', 'eu', 'r') }),
  fc.record({ suffix: fc.constantFrom('created', 'east', 'd') }),
  fc.record({ 'equals-ignore-case': words }),
  fc.record({ 'anything-but': fc.oneof(words, numbers, fc.array(fc.oneof(words, numbers), { minLength: 1, maxLength: 3 }), fc.record({ prefix: fc.constantFrom('o', 'eu') })) }),
  fc.tuple(fc.constantFrom('=', '>', '>=', '<', '<='), numbers).map(([op, n]) => ({ numeric: [op, n] })),
  fc.tuple(fc.constantFrom('>', '>='), numbers, fc.constantFrom('<', '<='), numbers)
    .map(([lo, a, hi, b]) => ({ numeric: [lo, Math.min(a, b), hi, Math.max(a, b)] })),
  fc.record({ exists: fc.boolean() }),
);
const matchers = fc.array(matcher, { minLength: 1, maxLength: 3 });
const payloadKeys = fc.constantFrom('a', 'b', 'c');

const payloadPolicy: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ node: Record<string, unknown> }>((tie) => ({
  node: fc.dictionary(payloadKeys, fc.oneof({ depthSize: 'small', withCrossShrink: true }, matchers, tie('node')), { minKeys: 1, maxKeys: 3 }),
})).node;

// One or two top-level keys: with more, almost nothing matches and agreement says little.
const scopeEntry = (withOr: boolean): fc.Arbitrary<[string, unknown]> => fc.oneof(
  fc.tuple(fc.constantFrom('type', 'from', 'to'), matchers),
  fc.tuple(fc.constant('headers'), fc.dictionary(fc.constantFrom('region', 'tier'), matchers, { minKeys: 1, maxKeys: 2 })),
  fc.tuple(fc.constant('payload'), payloadPolicy),
  ...(withOr ? [fc.tuple(fc.constant('$or'), fc.array(scopeEntry(false).map((entry) => Object.fromEntries([entry])), { minLength: 1, maxLength: 3 }))] : []),
);
const policy: fc.Arbitrary<Record<string, unknown>> = fc
  .array(scopeEntry(true), { minLength: 1, maxLength: 2 })
  .map((entries) => Object.fromEntries(entries));

const payloadValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(payloadKeys, tie('value'), { maxKeys: 3 }), fc.array(fc.dictionary(payloadKeys, tie('value'), { maxKeys: 2 }), { maxLength: 2 })),
})).value;

const message: fc.Arbitrary<FilterableMessage> = fc.record({
  type: fc.option(words, { nil: null }),
  from: fc.constantFrom('user:ann', 'user:order-bot'),
  to: fc.constantFrom('topic:orders', 'topic:eu-west'),
  headers: fc.option(fc.dictionary(fc.constantFrom('region', 'tier'), words, { maxKeys: 2 }), { nil: null }),
  payload: fc.oneof(fc.dictionary(payloadKeys, payloadValue, { maxKeys: 3 }), payloadValue),
});

describe('the evaluator', () => {
  test('agrees with the reference evaluator on generated policies and messages, matching and not', () => {
    let matched = 0;
    let missed = 0;
    fc.assert(fc.property(policy, fc.array(message, { minLength: 1, maxLength: 8 }), (p, messages) => {
      expect(policyProblems(p)).toEqual([]); // every generated policy is one the service accepts
      for (const m of messages) {
        const expected = referenceMatches(p, m);
        expect(matchesPolicy(p as FilterPolicy, m)).toBe(expected);
        if (expected) matched += 1;
        else missed += 1;
      }
    }), { numRuns: 3000 });
    // Both outcomes occur often, so agreement is not agreement on "no".
    expect(matched).toBeGreaterThan(500);
    expect(missed).toBeGreaterThan(500);
  });
});

describe('policy checks', () => {
  const at = (p: unknown) => policyProblems(p).map((problem) => problem.path.join('.'));

  test('name the key at fault for each kind of mistake', () => {
    expect(at({})).toEqual(['']);
    expect(at({ body: ['x'] })).toEqual(['body']);
    expect(at({ type: 'order' })).toEqual(['type']);
    expect(at({ type: [] })).toEqual(['type']);
    expect(at({ headers: { region: { nested: ['x'] } } })).toEqual(['headers.region']);
    expect(at({ payload: { total: [{ numeric: ['>', 'ten'] }] } })).toEqual(['payload.total.0']);
    expect(at({ payload: { total: [{ numeric: ['<', 5, '>', 1] }] } })).toEqual(['payload.total.0']);
    expect(at({ payload: { total: [{ numeric: ['>', 9, '<', 1] }] } })).toEqual(['payload.total.0']);
    expect(at({ payload: { a: [{ prefix: '' }, { suffix: 3 }, { regex: '.*' }, { prefix: 'a', suffix: 'b' }] } })).toEqual(['payload.a.0', 'payload.a.1', 'payload.a.2', 'payload.a.3']);
    expect(at({ payload: { a: [{ 'anything-but': [] }, { 'anything-but': { suffix: 'x' } }, { exists: 'yes' }, [1]] } })).toEqual(['payload.a.0', 'payload.a.1', 'payload.a.2', 'payload.a.3']);
    expect(at({ $or: [] })).toEqual(['$or']);
    expect(at({ $or: [{ type: ['a'] }, { nope: ['b'] }] })).toEqual(['$or.1.nope']);
    expect(at({ payload: { '': ['x'] } })).toEqual(['payload.']);
    expect(at({ payload: { 'a.b': [{ prefix: 'x' }], ok: [Infinity] } })).toEqual(['payload.ok.0']);
  });

  test('limits hold at their edges: keys, values, nesting and size', () => {
    const keys = (n: number) => ({ payload: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, [i]])) });
    expect(policyLimitProblem(keys(POLICY_MAX_KEYS))).toBeUndefined();
    expect(policyLimitProblem(keys(POLICY_MAX_KEYS + 1))).toMatch(/keys/);

    const values = (n: number) => ({ payload: { a: Array.from({ length: n }, (_, i) => i) } });
    expect(policyLimitProblem(values(POLICY_MAX_VALUES))).toBeUndefined();
    expect(policyLimitProblem(values(POLICY_MAX_VALUES + 1))).toMatch(/values/);
    // anything-but lists count each entry
    expect(policyLimitProblem({ payload: { a: [...Array.from({ length: POLICY_MAX_VALUES - 2 }, (_, i) => i), { 'anything-but': ['x', 'y', 'z'] }] } })).toMatch(/values/);

    const nested = (depth: number) => {
      let node: Record<string, unknown> = { leaf: ['x'] };
      for (let i = 2; i < depth; i++) node = { n: node };
      return { payload: node };
    };
    expect(policyLimitProblem(nested(POLICY_MAX_DEPTH))).toBeUndefined();
    expect(policyLimitProblem(nested(POLICY_MAX_DEPTH + 1))).toMatch(/deep/);

    const sized = (bytes: number) => {
      const shell = JSON.stringify({ type: [''] }).length;
      return { type: ['x'.repeat(bytes - shell)] };
    };
    expect(Buffer.byteLength(JSON.stringify(sized(POLICY_MAX_BYTES)))).toBe(POLICY_MAX_BYTES);
    expect(policyLimitProblem(sized(POLICY_MAX_BYTES))).toBeUndefined();
    expect(policyLimitProblem(sized(POLICY_MAX_BYTES + 1))).toMatch(/bytes/);
  });
});
