// The README's configuration table, rendered from the settings: `npm run docs:config` writes it
// between the markers, and test/config.test.ts fails when the README and the settings differ.
import type { Setting } from './setting.ts';
import { SETTINGS } from './settings.ts';

export const TABLE_START = '<!-- config-table: generated from src/config/settings.ts by `npm run docs:config` -->';
export const TABLE_END = '<!-- /config-table -->';

/** What an unset variable means, as the README and `switchyard config` show it. */
export function defaultText(s: Setting): string {
  if (s.default === undefined) return s.unset ?? '(none)';
  return s.default === '' ? '(none)' : `\`${s.default}\``;
}

export function renderConfigTable(settings: readonly Setting[] = SETTINGS): string {
  const rows = settings.map((s) => `| \`${s.env}\` | ${defaultText(s)} | ${s.doc} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The README with the text between the markers replaced by the table; throws without the markers. */
export function replaceConfigTable(readme: string, table = renderConfigTable()): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md needs the markers ${TABLE_START} and ${TABLE_END}`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

/** The table as the README holds it now, for the test that keeps both equal. */
export function readConfigTable(readme: string): string | undefined {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  return start < 0 || end < start ? undefined : readme.slice(start + TABLE_START.length, end).trim();
}
