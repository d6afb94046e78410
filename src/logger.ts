// Structured logs: one JSON object per line on stdout. Fields are the caller's; secrets never are
// (tokens are hashed before anything that logs sees them, and errors are reduced to message and code).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
type Fields = Record<string, unknown>;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export function createLogger(level: LogLevel, base: Fields = {}, write = (line: string) => process.stdout.write(line)): Logger {
  const threshold = ORDER[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Fields) => {
    if (ORDER[lvl] < threshold) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...base, ...fields }, replaceErrors)}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }), stack: value.stack };
  }
  return value;
}

/**
 * A logger for events that come in storms (a database outage fails every request and drops every
 * connection at once): the first line of each message goes out, then at most one per intervalMs,
 * carrying how many were held back meanwhile.
 */
export function stormProof(log: Logger, intervalMs = 5_000, now = Date.now): Logger {
  const last = new Map<string, { at: number; held: number }>();
  const gate = (emit: (msg: string, fields?: Fields) => void) => (msg: string, fields?: Fields) => {
    const seen = last.get(msg);
    const at = now();
    if (seen && at - seen.at < intervalMs) {
      seen.held += 1;
      return;
    }
    last.set(msg, { at, held: 0 });
    emit(msg, seen?.held ? { ...fields, held_back: seen.held } : fields);
  };
  return {
    debug: gate(log.debug), info: gate(log.info), warn: gate(log.warn), error: gate(log.error),
    child: (fields) => stormProof(log.child(fields), intervalMs, now),
  };
}
