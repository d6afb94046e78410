// `switchyard config`: the effective configuration, one line per variable with its value and
// where it came from (the environment or the default). Secrets never appear: tokens are hidden
// whole, database URLs keep everything but their password.
import { presentSettings, SETTINGS } from '../config.ts';
import { defaultText } from '../config/config-table.ts';
import { RETIRED_SETTINGS, retiredSettingsIn } from '../config/retired-settings.ts';
import type { Setting } from '../config/setting.ts';
import { formatTable } from './text-table.ts';

const HIDDEN = '****';
/** scheme://user:password@rest, as db/database-url.ts reads it (no @ or / in the user info). */
const URL_USER_INFO = /^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i;

/** A secret's value as it may be shown: a URL without its password, anything else hidden whole. */
export function maskSecret(value: string): string {
  const match = URL_USER_INFO.exec(value);
  if (!match) return /^[a-z][a-z0-9+.-]*:\/\/[^?]*$/i.test(value) ? value : HIDDEN; // a URL without user info or query holds no secret
  const [, scheme, userInfo] = match as unknown as [string, string, string];
  const user = userInfo.includes(':') ? `${userInfo.slice(0, userInfo.indexOf(':'))}:${HIDDEN}` : userInfo;
  const rest = value.slice(match[0].length).replace(/([?&]password=)[^&#]*/gi, `$1${HIDDEN}`);
  return `${scheme}${user}@${rest}`;
}

export interface EffectiveSetting {
  env: string;
  value: string;
  source: 'env' | 'default';
}

/** Every setting's value (as text) and its source; call after loadConfig has accepted env. */
export function effectiveSettings(env: Record<string, string | undefined>, settings: readonly Setting[] = SETTINGS): EffectiveSetting[] {
  const present = presentSettings(env);
  return settings.map((s) => {
    const text = present.get(s.env);
    if (text === undefined) return { env: s.env, value: defaultText(s).replaceAll('`', ''), source: 'default' };
    return { env: s.env, value: s.secret ? maskSecret(text) : text, source: 'env' };
  });
}

export function configCommand(env: Record<string, string | undefined>, out: NodeJS.WritableStream): void {
  const rows = effectiveSettings(env).map((s) => [s.env, s.value, s.source]);
  out.write(`${formatTable(['VARIABLE', 'VALUE', 'SOURCE'], rows).join('\n')}\n`);
  const retired = retiredSettingsIn(env);
  if (retired.length > 0) {
    out.write(`\nset but no longer read (now constants in src/config/tuning.ts):\n${retired.map((name) => `  ${name}: ${RETIRED_SETTINGS[name]}`).join('\n')}\n`);
  }
}
