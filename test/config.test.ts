// Configuration refuses secrets that anyone can know: published placeholders pass the length check,
// so they are refused by name, naming the variable and never echoing the value. Each setting is
// declared once; its default, the README table and the Config built from it agree.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, PUBLISHED_PLACEHOLDER_TOKENS, SETTINGS } from '../src/config.ts';
import { readConfigTable, renderConfigTable, replaceConfigTable, TABLE_END, TABLE_START } from '../src/config/config-table.ts';
import { RETIRED_SETTINGS } from '../src/config/retired-settings.ts';
import { TUNING } from '../src/config/tuning.ts';
import { createTestDatabase } from './helpers/database.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('placeholder tokens', () => {
  const placeholders = [
    ...PUBLISHED_PLACEHOLDER_TOKENS,
    'CHANGE_ME_please-use-a-real-secret-here-0123',
    'changeme-changeme-changeme-changeme',
    'replace-me-with-32-or-more-characters!!',
    'your-admin-token-goes-here-at-least-32-chars',
    'x'.repeat(40),
    '0'.repeat(64),
    'abab'.repeat(10),
  ];

  test.each(placeholders)('SWITCHYARD_ADMIN_TOKEN %s is refused, naming the variable and not the value', (token) => {
    const problems = problemsOf({ SWITCHYARD_ADMIN_TOKEN: token });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SWITCHYARD_ADMIN_TOKEN: is a placeholder/);
    expect(problems.join('\n')).not.toContain(token);
  });

  test('SWITCHYARD_METRICS_TOKEN refuses the same placeholders', () => {
    expect(problemsOf({ SWITCHYARD_METRICS_TOKEN: PUBLISHED_PLACEHOLDER_TOKENS[0]! })).toEqual([
      expect.stringMatching(/^SWITCHYARD_METRICS_TOKEN: is a placeholder/),
    ]);
  });

  test('generated tokens and tokens that merely mention a word are accepted', () => {
    for (const token of [randomBytes(32).toString('hex'), randomBytes(24).toString('base64url'), 'ops-team-token-4f1c9e2ab7d05e38c61f']) {
      expect(loadConfig({ SWITCHYARD_ADMIN_TOKEN: token }).adminToken).toBe(token);
    }
  });

  test('a short token is still refused for its length, at 31 characters, and accepted at 32', () => {
    const secret = randomBytes(32).toString('hex');
    expect(problemsOf({ SWITCHYARD_ADMIN_TOKEN: secret.slice(0, 31) })).toEqual(['SWITCHYARD_ADMIN_TOKEN: must be at least 32 characters']);
    expect(loadConfig({ SWITCHYARD_ADMIN_TOKEN: secret.slice(0, 32) }).adminToken).toBe(secret.slice(0, 32));
  });
});

/** The value at a dot-separated Config path ("db.poolMax"). */
function valueAt(config: object, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
}

describe('each setting declared once', () => {
  test('the README configuration table is the one the settings render (npm run docs:config rewrites it)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readConfigTable(readme)).toBe(renderConfigTable());
  });

  test('the README table check notices a setting that is missing or documented differently', () => {
    const readme = replaceConfigTable(`before\n${TABLE_START}\n${TABLE_END}\nafter`);
    expect(readConfigTable(readme)).toBe(renderConfigTable());
    expect(readConfigTable(readme)).not.toBe(renderConfigTable(SETTINGS.slice(1)));
    expect(readConfigTable(readme)).not.toBe(renderConfigTable(SETTINGS.map((s, i) => (i === 0 ? { ...s, doc: `${s.doc}!` } : s))));
  });

  test('every variable and every Config path is declared once', () => {
    const envs = SETTINGS.map((s) => s.env);
    const paths = SETTINGS.map((s) => s.path);
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(paths).size).toBe(paths.length);
  });

  test('an unset variable takes its documented default, and a set one its own value', () => {
    const defaults = loadConfig({});
    for (const s of SETTINGS) {
      if (s.default === undefined || typeof s.default !== 'number') continue;
      expect(valueAt(defaults, s.path), s.env).toBe(s.default);
    }
    expect(defaults.roles).toEqual(['router', 'routing', 'persistence', 'analytics', 'push', 'upkeep']);
    expect(defaults.stages.maxWorkers).toBe(4);
    expect(defaults.adminToken).toBeUndefined();
    const set = loadConfig({ SWITCHYARD_POOL_MAX: '7', SWITCHYARD_STAGE_WORKERS: '6', SWITCHYARD_CORS_ORIGINS: 'https://a.example, https://a.example' });
    expect(set.db.poolMax).toBe(7);
    expect(set.stages.maxWorkers).toBe(6); // unset maximum follows a larger minimum
    expect(set.cors.origins).toEqual(['https://a.example']);
  });

  test('every bad variable is named at once, and an empty one counts as unset', () => {
    expect(problemsOf({ SWITCHYARD_POOL_MAX: '501', PORT: '-1', SWITCHYARD_STAGE_WORKERS: '3', SWITCHYARD_STAGE_WORKERS_MAX: '2' })).toEqual([
      expect.stringMatching(/^PORT: /),
      expect.stringMatching(/^SWITCHYARD_POOL_MAX: /),
      'SWITCHYARD_STAGE_WORKERS_MAX: must not be below SWITCHYARD_STAGE_WORKERS',
    ]);
    expect(loadConfig({ SWITCHYARD_POOL_MAX: '' }).db.poolMax).toBe(20);
  });

  test('a retired variable is no setting, and names the constant that replaced it', () => {
    const settings = new Set(SETTINGS.map((s) => s.env));
    const config = loadConfig({});
    for (const [name, replacement] of Object.entries(RETIRED_SETTINGS)) {
      expect(settings.has(name), name).toBe(false);
      const path = replacement.split(' ')[0]!;
      if (/^[A-Z][A-Z_]+$/.test(path)) continue; // a constant of the module that uses it, named with its file
      expect(valueAt(TUNING, path), name).toBeDefined();
      expect(valueAt(config, path), name).toBe(valueAt(TUNING, path));
    }
  });

  test('constants stay out of the environment; a test may tighten one without touching the rest', () => {
    expect(loadConfig({ SWITCHYARD_QUEUE_STATS_MS: '100' }).delivery.statsMs).toBe(TUNING.delivery.statsMs);
    const tuned = loadConfig({}, { delivery: { statsMs: 100 }, analyticsFlushMs: 200 });
    expect(tuned.delivery).toEqual({ ...loadConfig({}).delivery, statsMs: 100 });
    expect(tuned.analyticsFlushMs).toBe(200);
    expect(TUNING.delivery.statsMs).toBe(2_000); // the shared constants are copied, never changed
  });
});

describe('defaults SQL publish() keeps for a database no router has started on', () => {
  // The router writes its dedup window to switchyard.shared_setting at start; publish() falls back
  // to the window written in its own body (migration 0015) until then. That copy must be this one.
  test('the dedup window before any router started is the configured default', async () => {
    const database = await createTestDatabase();
    try {
      const before = await sql<{ n: number }>`select count(*)::int as n from switchyard.shared_setting where key like 'publish.%'`.execute(database.db);
      expect(before.rows[0]!.n).toBe(0);
      await sql`select switchyard.publish('user:alice', '1'::jsonb, sender => 'system:shop', dedup_id => 'first-start')`.execute(database.db);
      const left = await sql<{ seconds: number }>`
        select extract(epoch from expires_at - clock_timestamp())::float8 as seconds from switchyard.dedup where dedup_id = 'first-start'`.execute(database.db);
      const window = loadConfig({}).delivery.dedupWindowSeconds;
      expect(left.rows[0]!.seconds).toBeGreaterThan(window - 30);
      expect(left.rows[0]!.seconds).toBeLessThanOrEqual(window);
    } finally {
      await database.drop();
    }
  });
});
