// Which text of a JSON payload is classified: the values at the topic's JSON paths, or, without
// paths, every string value in document order. Pure.

/** A path is dot-separated keys with array indexes as numbers: `$.body`, `$.items.0.title`. A
 *  path that names an object or array takes every string below it. */
export const JSON_PATH_PATTERN = /^\$(\.[A-Za-z0-9_-]{1,64}){1,8}$/;

export function stringsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) stringsIn(item, out);
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) stringsIn(item, out);
  return out;
}

function valueAt(payload: unknown, path: string): unknown {
  let value = payload;
  for (const key of path.split('.').slice(1)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The text to classify; empty when the payload has no string at those paths. */
export function payloadText(payload: unknown, paths: readonly string[] | null): string {
  const parts = paths === null || paths.length === 0 ? stringsIn(payload) : paths.flatMap((path) => stringsIn(valueAt(payload, path)));
  return parts.join('\n');
}
