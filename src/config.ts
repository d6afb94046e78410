// Configuration is read once, from the environment, at start-up (docs in README "Configuration").
// A bad value names its variable and the process exits before anything opens. Each variable is
// declared once, in config/settings.ts; the constants nobody should tune are in config/tuning.ts.
import { z } from 'zod';
import { SETTINGS, STAGE_WORKERS_MAX_DEFAULT } from './config/settings.ts';
import { assignPath, type SettingsTree, type Simplify } from './config/setting.ts';
import { TUNING, type TuningOverrides } from './config/tuning.ts';

export { DIRECTIONS, type Direction } from './config/value-schemas.ts';
export { ROLES, STAGES, type Role } from './config/roles.ts';
export { isPlaceholderToken, PUBLISHED_PLACEHOLDER_TOKENS } from './config/secret-token.ts';
export { ADDRESS_LENGTH_CAP, SETTINGS } from './config/settings.ts';
export type { TuningOverrides } from './config/tuning.ts';

// Request parameters' bounds and defaults (inbox.schemas.ts): part of the HTTP contract, not settings.
export const LONG_POLL_MAX_WAIT_SECONDS = 20;
export const VISIBILITY_DEFAULT_SECONDS = 30;
export const SSE_PREFETCH_DEFAULT = 100;

/** What the environment holds, and how each variable is checked. */
const EnvSchema = z.object(Object.fromEntries(SETTINGS.map((s) => [s.env, s.optional ? s.schema.optional() : s.schema])))
  .superRefine((e, ctx) => {
    // Both bounds name the variable at fault; an unset maximum follows a larger minimum.
    const workers = e.SWITCHYARD_STAGE_WORKERS as number;
    const maxWorkers = e.SWITCHYARD_STAGE_WORKERS_MAX as number | undefined;
    if (maxWorkers !== undefined && maxWorkers < workers) {
      ctx.addIssue({ code: 'custom', path: ['SWITCHYARD_STAGE_WORKERS_MAX'], message: 'must not be below SWITCHYARD_STAGE_WORKERS' });
    }
    if ((e.SWITCHYARD_SCALE_MAX_WORKERS as number) < (e.SWITCHYARD_SCALE_MIN_WORKERS as number)) {
      ctx.addIssue({ code: 'custom', path: ['SWITCHYARD_SCALE_MAX_WORKERS'], message: 'must not be below SWITCHYARD_SCALE_MIN_WORKERS' });
    }
  });

export type Config = Simplify<SettingsTree<typeof SETTINGS> & typeof TUNING & { stages: { maxWorkers: number } }>;
/** What one request may carry. Every limit has its own error code and configuration variable. */
export type Limits = Config['limits'];
/** Recommended workers per role: one per this much backlog, within minWorkers..maxWorkers. */
export type ScalingThresholds = Config['scaling'];

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** The variables set in env; an empty variable means "unset", as in most shells' `FOO= cmd`. */
export function presentSettings(env: Record<string, string | undefined>): Map<string, string> {
  return new Map(SETTINGS.flatMap((s) => {
    const value = env[s.env];
    return value === undefined || value === '' ? [] : [[s.env, value] as const];
  }));
}

/**
 * Reads and validates the configuration; throws ConfigError naming every bad variable. `tuning`
 * replaces constants of config/tuning.ts: for tests that need shorter intervals, never for operators.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, tuning: TuningOverrides = {}): Config {
  const present = presentSettings(env);
  const input = Object.fromEntries(SETTINGS.flatMap((s) => {
    const text = present.get(s.env) ?? (s.default === undefined ? undefined : String(s.default));
    return text === undefined ? [] : [[s.env, text]];
  }));
  const parsed = EnvSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`));
  }
  const config: Record<string, unknown> = structuredClone(TUNING);
  for (const [key, overrides] of Object.entries(tuning)) {
    config[key] = typeof overrides === 'object' && !Array.isArray(overrides) ? { ...(config[key] as object), ...overrides } : overrides;
  }
  for (const s of SETTINGS) assignPath(config, s.path, parsed.data[s.env]);
  const c = config as Config;
  c.stages.maxWorkers ??= Math.max(c.stages.workers, STAGE_WORKERS_MAX_DEFAULT);
  return c;
}
