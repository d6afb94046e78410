// The shapes a variable's text can take: whole numbers in a range, lists, origins, database URLs.
import { z } from 'zod';
import { parseDatabaseUrl } from '../db/database-url.ts';
import { SERIES_KINDS, type SeriesKind } from '../db/schema.ts';
import { ROLES, STAGES, type Role } from './roles.ts';

/** Which way a value must leave its band to count as an anomaly (SWITCHYARD_ANOMALY_DIRECTION). */
export const DIRECTIONS = ['spike', 'drop', 'both'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const commaList = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);

/** Comma-separated, duplicates dropped. */
export const stringList = z.string().transform((value) => [...new Set(commaList(value))]);

export const originList = z.string().transform((value, ctx) => {
  const origins = commaList(value);
  // Exact origins only: a wildcard cannot be combined with credentials, and a typo must not
  // silently open the API to every site.
  const bad = origins.filter((origin) => !isOrigin(origin));
  if (bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: `expected comma-separated origins like https://app.example.com, got ${bad.join(', ')}` });
    return z.NEVER;
  }
  return [...new Set(origins)];
});

function isOrigin(value: string): boolean {
  if (value.includes('*')) return false; // URL accepts * in a host; as an origin it looks like a wildcard that is none
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

export const rolesList = z.string().transform((value, ctx) => {
  const names = commaList(value);
  const unknown = names.filter((name) => !(ROLES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    ctx.addIssue({ code: 'custom', message: `expected a comma-separated list of ${ROLES.join(', ')}` });
    return z.NEVER;
  }
  return [...new Set(names)] as Role[];
});

export const stageList = z.string().transform((value, ctx) => {
  const names = commaList(value);
  const unknown = names.filter((name) => !STAGES.includes(name));
  if (unknown.length > 0) {
    ctx.addIssue({ code: 'custom', message: `unknown stage(s) ${unknown.join(', ')}: expected some of ${STAGES.join(', ')}` });
    return z.NEVER;
  }
  return names;
});

// libpq's multi-host form (h1:p1,h2:p2 and target_session_attrs) is no WHATWG URL: db/database-url.ts reads it.
export const databaseUrl = z.string().superRefine((value, ctx) => {
  const parsed = parseDatabaseUrl(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

export const singleHostDatabaseUrl = databaseUrl.refine((value) => {
  const parsed = parseDatabaseUrl(value);
  return typeof parsed === 'string' || parsed.hosts.length === 1;
}, 'one replica host only');

/** "kind=value,kind=value" per anomaly series kind; kinds not named keep their default. */
function perSeriesKind<T>(parse: (value: string) => T | undefined, expected: string) {
  return z.string().transform((text, ctx) => {
    const out: Partial<Record<SeriesKind, T>> = {};
    for (const pair of commaList(text)) {
      const [kind, raw = ''] = pair.split('=').map((p) => p.trim());
      const value = parse(raw);
      if (!SERIES_KINDS.includes(kind as SeriesKind) || value === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected kind=value pairs with kinds ${SERIES_KINDS.join(', ')} and values ${expected}, got ${pair}` });
        return z.NEVER;
      }
      out[kind as SeriesKind] = value;
    }
    return out;
  });
}

export const anomalyK = perSeriesKind((v) => (/^\d+(\.\d+)?$/.test(v) && Number(v) > 0 && Number(v) <= 100 ? Number(v) : undefined), 'in (0, 100]');
export const anomalyDirection = perSeriesKind((v) => (DIRECTIONS.includes(v as Direction) ? (v as Direction) : undefined), DIRECTIONS.join(' | '));
