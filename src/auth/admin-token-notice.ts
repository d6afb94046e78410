// Telling the operator a generated admin token, once, without leaving it in a log. stderr (and
// stdout when it is not a terminal) usually goes to a log collector that keeps everything for
// months: there the token would be readable by whoever reads logs. So the token is printed only
// to a terminal; otherwise it is written to a file only the service's user can read, in the data
// folder, and only that file's path is printed.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const ADMIN_TOKEN_FILE = 'admin-token';

export interface NoticeOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Shows the token on `out` if it is a terminal, else writes it to <dataDir>/admin-token (0600); returns that path or undefined. */
export function announceGeneratedAdminToken(token: string, dataDir: string, out: NoticeOutput): string | undefined {
  const again = '`switchyard admin-token rotate` makes a new one';
  if (out.isTTY) {
    out.write(`Admin token (shown only this once; ${again}):\n  ${token}\n\n`);
    return undefined;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.resolve(dataDir, ADMIN_TOKEN_FILE);
  // A mode applies only when a file is created: an older file (of an earlier token) goes first,
  // and wx refuses to write through anything put in its place meanwhile.
  rmSync(file, { force: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  out.write(`Admin token: generated and written to ${file} (readable by this user only; read it, then delete the file; ${again})\n\n`);
  return file;
}
