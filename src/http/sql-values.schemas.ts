// Every text and time a request hands to SQL passes through here, so that a value PostgreSQL
// would refuse is refused first with a 400 naming the field, never a 500 (or, inside a shared
// group-commit INSERT, a failure of other clients' publishes). JavaScript and zod accept more than
// PostgreSQL does:
// - text: U+0000 and unpaired surrogates (json-value.ts);
// - times: ISO 8601 year 0000 (PostgreSQL has no year zero) and offsets of 16:00 or more
//   (PostgreSQL's limit is 15:59);
// - numbers in JSON: 1e400 parses to Infinity and would be written as null (json-value.ts).
import { z } from '@hono/zod-openapi';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './json-value.ts';

/** PostgreSQL refuses a UTC offset of 16 hours or more. */
const OFFSET_MAX_MINUTES = 15 * 60 + 59;
const TIME_PARTS = /^(\d{4})-\d{2}-\d{2}T[^Zz+-]*(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

export const UNSTORABLE_TIME_MESSAGE = 'must be a time in years 0001-9999 with an offset under 16:00';

/** Text PostgreSQL can store, as a refinement of any string schema. */
export function storableText<T extends z.ZodString>(schema: T) {
  return schema.refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
}

/** True when PostgreSQL parses this ISO 8601 time (already checked by z.iso.datetime). */
export function isStorableTime(value: string): boolean {
  const parts = TIME_PARTS.exec(value);
  if (!parts) return false;
  if (Number(parts[1]) < 1) return false;
  if (parts[2] === undefined) return true;
  return Number(parts[3]) * 60 + Number(parts[4]) <= OFFSET_MAX_MINUTES;
}

/** An ISO 8601 time with an offset that PostgreSQL can parse. */
export function storableTime() {
  return z.iso.datetime({ offset: true }).refine(isStorableTime, UNSTORABLE_TIME_MESSAGE);
}
