// The content language of subscription filters and routing rules: Amazon SNS filter policies /
// EventBridge event patterns, applied to one document per message:
//
//   { "type": ..., "from": "user:ann", "to": "topic:orders", "headers": {...}, "payload": {...} }
//
// `type`, `from`, `to` and `headers.*` are the attribute scope, `payload` (nested keys) the body
// scope. A policy is an object: every key must match (AND); `$or` holds a list of policies of
// which one must match. A key's value is a nested policy (an object) or a list of matchers, of
// which one must match (OR). Matchers: a string, number, boolean or null (equal), {prefix},
// {suffix}, {equals-ignore-case}, {anything-but: value | [values] | {prefix}}, {numeric: [op, n,
// (op, n)]}, {exists: bool}. When the message holds a list there, one element matching is enough.
// Every matcher but {exists: false} needs the key present; {exists: false} also holds when an
// object above it is absent. anything-but matches strings and numbers only, numeric numbers only.
//
// Evaluation walks the policy once and looks each key up directly in the message: the work is
// linear in the policy times the size of the lists it meets, with no backtracking and no regular
// expression built from user input. Policies are checked when stored (filter-policy.schemas.ts),
// so the evaluator trusts their shape.

export type Matcher =
  | string | number | boolean | null
  | { prefix: string } | { suffix: string } | { 'equals-ignore-case': string }
  | { 'anything-but': AnythingBut }
  | { numeric: (string | number)[] }
  | { exists: boolean };
export type AnythingBut = string | number | (string | number)[] | { prefix: string };
export interface FilterPolicy {
  [key: string]: Matcher[] | FilterPolicy | FilterPolicy[];
}

/** The message fields a policy reads. */
export interface FilterableMessage {
  type: string | null;
  from: string;
  to: string;
  headers: Record<string, string> | null;
  payload: unknown;
}

export const OR_KEY = '$or';

export function matchesPolicy(policy: FilterPolicy, message: FilterableMessage): boolean {
  const document: Record<string, unknown> = { from: message.from, to: message.to };
  if (message.type !== null) document.type = message.type;
  if (message.headers !== null) document.headers = message.headers;
  document.payload = message.payload;
  return matchesObject(policy, document);
}

/** Whether the policy reads the payload or headers (when it does not, the stage need not load them). */
export function policyReadsContent(policy: FilterPolicy): boolean {
  for (const [key, value] of Object.entries(policy)) {
    if (key === 'payload' || key === 'headers') return true;
    if (key === OR_KEY && (value as FilterPolicy[]).some(policyReadsContent)) return true;
  }
  return false;
}

function matchesObject(policy: FilterPolicy, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((element) => matchesObject(policy, element));
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  for (const key in policy) {
    const rule = policy[key]!;
    if (key === OR_KEY) {
      if (!(rule as FilterPolicy[]).some((branch) => matchesObject(branch, value))) return false;
      continue;
    }
    const present = record !== undefined && Object.hasOwn(record, key);
    const field = present ? record[key] : undefined;
    if (Array.isArray(rule)) {
      if (!(rule as Matcher[]).some((matcher) => matchesField(matcher, present, field))) return false;
    } else if (!matchesObject(rule, field)) {
      return false; // an absent object matches only policies of {exists: false}
    }
  }
  return true;
}

function matchesField(matcher: Matcher, present: boolean, field: unknown): boolean {
  if (typeof matcher === 'object' && matcher !== null && 'exists' in matcher) return matcher.exists === present;
  if (!present) return false;
  if (Array.isArray(field)) return field.some((element) => matchesValue(matcher, element));
  return matchesValue(matcher, field);
}

function matchesValue(matcher: Matcher, value: unknown): boolean {
  if (matcher === null || typeof matcher !== 'object') return value === matcher;
  if ('prefix' in matcher) return typeof value === 'string' && value.startsWith(matcher.prefix);
  if ('suffix' in matcher) return typeof value === 'string' && value.endsWith(matcher.suffix);
  if ('equals-ignore-case' in matcher) {
    return typeof value === 'string' && value.toLowerCase() === matcher['equals-ignore-case'].toLowerCase();
  }
  if ('numeric' in matcher) return typeof value === 'number' && matchesNumeric(matcher.numeric, value);
  if ('anything-but' in matcher) return matchesAnythingBut(matcher['anything-but'], value);
  return false;
}

function matchesAnythingBut(excluded: AnythingBut, value: unknown): boolean {
  if (typeof value !== 'string' && typeof value !== 'number') return false;
  if (Array.isArray(excluded)) return !excluded.includes(value);
  if (typeof excluded === 'object') return typeof value === 'string' && !value.startsWith(excluded.prefix);
  return value !== excluded;
}

function matchesNumeric(conditions: (string | number)[], value: number): boolean {
  for (let i = 0; i < conditions.length; i += 2) {
    const bound = conditions[i + 1] as number;
    switch (conditions[i]) {
      case '=': if (!(value === bound)) return false; break;
      case '>': if (!(value > bound)) return false; break;
      case '>=': if (!(value >= bound)) return false; break;
      case '<': if (!(value < bound)) return false; break;
      case '<=': if (!(value <= bound)) return false; break;
      default: return false;
    }
  }
  return true;
}
