// Checks a filter policy before it is stored (the language is in filter-policy.ts). Every problem
// names the key at fault (like listen_to.1.filter.payload.total.0) under FilterPolicyInvalid, and
// a policy over a limit is refused whole under FilterPolicyTooLarge. The limits keep evaluation
// cheap at fan-out, where one message meets thousands of policies; they are constants (not
// settings) because they bound the language, not a deployment, and they are documented in the
// README ("Content routing").
import { z } from '@hono/zod-openapi';
import { isRecord } from '../http/problem.ts';
import { OR_KEY, type FilterPolicy } from './filter-policy.ts';

/** The policy as JSON, at most this many bytes. */
export const POLICY_MAX_BYTES = 4096;
/** Keys that hold matcher lists, counted across every $or branch. */
export const POLICY_MAX_KEYS = 32;
/** Matchers (and anything-but list entries), counted across the whole policy. */
export const POLICY_MAX_VALUES = 150;
/** Objects inside objects, the policy itself and each $or branch included. */
export const POLICY_MAX_DEPTH = 8;

const SCOPE_KEYS = new Set(['type', 'from', 'to', 'headers', 'payload', OR_KEY]);
const NUMERIC_LOWER = new Set(['>', '>=']);
const NUMERIC_UPPER = new Set(['<', '<=']);
const NUMERIC_OPS = new Set(['=', ...NUMERIC_LOWER, ...NUMERIC_UPPER]);

type Path = (string | number)[];

export interface PolicyProblem {
  /** Where, relative to the policy: keys and list indexes. */
  path: Path;
  message: string;
}

interface Walk {
  errors: PolicyProblem[];
  keys: number;
  values: number;
  depth: number;
}

/** Whether the policy breaks a size limit, and which; undefined when it keeps to them all. */
export function policyLimitProblem(value: unknown): string | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
  if (bytes > POLICY_MAX_BYTES) return `a policy is at most ${POLICY_MAX_BYTES} bytes of JSON (this one is ${bytes})`;
  const walk: Walk = { errors: [], keys: 0, values: 0, depth: 0 };
  checkObject(value, [], 1, walk, true);
  if (walk.depth > POLICY_MAX_DEPTH) return `a policy nests at most ${POLICY_MAX_DEPTH} objects deep`;
  if (walk.keys > POLICY_MAX_KEYS) return `a policy has at most ${POLICY_MAX_KEYS} keys with matchers (this one has ${walk.keys})`;
  if (walk.values > POLICY_MAX_VALUES) return `a policy has at most ${POLICY_MAX_VALUES} values (this one has ${walk.values})`;
  return undefined;
}

/** What is wrong with the policy, each with the path of the key at fault relative to the policy. */
export function policyProblems(value: unknown): PolicyProblem[] {
  const walk: Walk = { errors: [], keys: 0, values: 0, depth: 0 };
  checkObject(value, [], 1, walk, true);
  return walk.errors;
}

function join(path: Path, key: string | number): Path {
  return [...path, key];
}

/** Whether this object is a headers object: headers at the top, or in top-level $or branches. */
function isHeaders(path: Path): boolean {
  return path.at(-1) === 'headers' && path.slice(0, -1).every((part, i) => (i % 2 === 0 ? part === OR_KEY : typeof part === 'number'));
}

function checkObject(value: unknown, path: Path, depth: number, walk: Walk, top: boolean): void {
  walk.depth = Math.max(walk.depth, depth);
  if (depth > POLICY_MAX_DEPTH + 1) return; // reported as a limit; deeper is noise
  if (!isRecord(value)) {
    walk.errors.push({ path, message: 'a policy is a JSON object of keys to matcher lists or nested policies' });
    return;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) walk.errors.push({ path, message: 'a policy has at least one key' });
  for (const key of keys) {
    const at = join(path, key);
    const rule = value[key];
    if (top && !SCOPE_KEYS.has(key)) {
      walk.errors.push({ path: at, message: 'a policy reads type, from, to, headers, payload, or combines policies with $or' });
    } else if (key === OR_KEY) {
      if (!Array.isArray(rule) || rule.length === 0) {
        walk.errors.push({ path: at, message: '$or is a non-empty list of policies' });
      } else {
        rule.forEach((branch, index) => checkObject(branch, join(at, index), depth + 1, walk, top));
      }
    } else if (key === '') {
      walk.errors.push({ path: at, message: 'a key is not empty' });
    } else if (Array.isArray(rule)) {
      walk.keys += 1;
      checkMatchers(rule, at, walk);
    } else if (top && key !== 'payload' && key !== 'headers') {
      walk.errors.push({ path: at, message: `${key} is a list of matchers` });
    } else if (isHeaders(path)) {
      walk.errors.push({ path: at, message: 'a header holds a string: its value is a list of matchers' });
    } else {
      checkObject(rule, at, depth + 1, walk, false);
    }
  }
}

function checkMatchers(list: unknown[], path: Path, walk: Walk): void {
  if (list.length === 0) walk.errors.push({ path, message: 'a matcher list is not empty' });
  list.forEach((matcher, index) => {
    walk.values += 1;
    const problem = matcherProblem(matcher, walk);
    if (problem) walk.errors.push({ path: join(path, index), message: problem });
  });
}

function matcherProblem(matcher: unknown, walk: Walk): string | undefined {
  if (matcher === null || typeof matcher === 'string' || typeof matcher === 'boolean') return undefined;
  if (typeof matcher === 'number') return Number.isFinite(matcher) ? undefined : 'a number is finite';
  if (!isRecord(matcher)) return 'a matcher is a string, number, boolean, null or an operator object';
  const keys = Object.keys(matcher);
  if (keys.length !== 1) return 'an operator object has exactly one operator';
  const operator = keys[0]!;
  const operand = matcher[operator];
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return typeof operand === 'string' && operand !== '' ? undefined : `${operator} takes a non-empty string`;
    case 'equals-ignore-case':
      return typeof operand === 'string' ? undefined : 'equals-ignore-case takes a string';
    case 'exists':
      return typeof operand === 'boolean' ? undefined : 'exists takes true or false';
    case 'numeric':
      return numericProblem(operand);
    case 'anything-but':
      return anythingButProblem(operand, walk);
    default:
      return `unknown operator ${operator}: use prefix, suffix, equals-ignore-case, anything-but, numeric or exists`;
  }
}

function numericProblem(operand: unknown): string | undefined {
  const usage = 'numeric takes [op, number] or [">"|">=", low, "<"|"<=", high] with op one of = > >= < <=';
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) return usage;
  for (let i = 0; i < operand.length; i += 2) {
    if (!NUMERIC_OPS.has(operand[i]) || typeof operand[i + 1] !== 'number' || !Number.isFinite(operand[i + 1])) return usage;
  }
  if (operand.length === 4) {
    if (!NUMERIC_LOWER.has(operand[0]) || !NUMERIC_UPPER.has(operand[2])) return usage;
    if ((operand[1] as number) > (operand[3] as number)) return 'numeric: the lower bound is not above the upper bound';
  }
  return undefined;
}

function anythingButProblem(operand: unknown, walk: Walk): string | undefined {
  const scalar = (value: unknown) => typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
  if (scalar(operand)) return undefined;
  if (Array.isArray(operand)) {
    walk.values += Math.max(0, operand.length - 1);
    return operand.length > 0 && operand.every(scalar) ? undefined : 'anything-but takes a non-empty list of strings and numbers';
  }
  if (isRecord(operand) && Object.keys(operand).length === 1 && typeof operand.prefix === 'string' && operand.prefix !== '') return undefined;
  return 'anything-but takes a string, a number, a list of them, or {"prefix": "..."}';
}

/**
 * A filter policy in a request body. Problems are reported at the key at fault; a policy over a
 * limit is FilterPolicyTooLarge.
 */
export function filterPolicySchema() {
  return z
    .custom<FilterPolicy>(() => true)
    .superRefine((value, ctx) => {
      const tooLarge = policyLimitProblem(value);
      if (tooLarge) {
        ctx.addIssue({ code: 'custom', message: tooLarge, params: { code: 'FilterPolicyTooLarge' }, path: [] });
        return;
      }
      for (const problem of policyProblems(value)) {
        ctx.addIssue({
          code: 'custom', message: problem.message, params: { code: 'FilterPolicyInvalid' },
          path: problem.path,
        });
      }
    })
    .openapi({
      type: 'object',
      description: 'an SNS filter policy / EventBridge pattern over type, from, to, headers and payload (README, "Content routing")',
      example: { type: ['order.created'], payload: { total: [{ numeric: ['>=', 100] }] } },
    });
}
