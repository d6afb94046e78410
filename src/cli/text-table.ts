// Plain-text output for the admin commands: aligned columns, counts and ages people can read.

const NUMBER = /^[\d.,]+[a-z%+]*$/;

/** Columns padded to their widest cell; columns of numbers (or "-" for none) align right. */
export function formatTable(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) =>
    rows.some((r) => NUMBER.test(r[i] ?? '')) && rows.every((r) => NUMBER.test(r[i] ?? '') || r[i] === '-'));
  const line = (cells: string[]) => cells
    .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd();
  return [line(headers), ...rows.map(line)];
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 0.4s, 12s, 3m05s, 2h07m, 3d04h */
export function formatAge(seconds: number): string {
  if (seconds < 10) return `${(Math.round(seconds * 10) / 10).toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor((s % 86_400) / 3600))}h`;
}

export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
