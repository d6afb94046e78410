// Telling a failure of the database connection (worth retrying as is) from a failure caused by
// the data at hand (worth isolating).

/** SQLSTATEs that mean the connection or the server went away, not that the statement was wrong. */
const CONNECTION_LOST_SQLSTATE = /^(08|57P0[1-3]|53300)/; // connection exceptions, shutdowns, too many connections
/** The same, as the driver reports it when no SQLSTATE came back (the socket, the pool). */
const CONNECTION_LOST_MESSAGES = /Connection terminated|connection error|ECONNRESET|ECONNREFUSED|EPIPE|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|not queryable|timeout exceeded when trying to connect|Client was closed|the database system is (starting up|shutting down|in recovery)/i;
/** Beyond a lost connection, what succeeds when simply run again: resources, conflicts, timeouts, operator intervention. */
const RETRYABLE_SQLSTATE = /^(53|57P|40001|40P01|55P03|57014)/;

/**
 * The database cannot be reached (down, restarting, refusing connections, or it dropped ours):
 * worth answering 503 with Retry-After and retrying soon, unlike an error caused by the statement.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_LOST_SQLSTATE.test(code)) return true;
  return CONNECTION_LOST_MESSAGES.test(error.message);
}

/** Worth retrying as is (a stage retries the batch instead of moving the message aside): the database was unreachable, or the statement met a passing condition. */
export function isTransientDatabaseError(error: unknown): boolean {
  if (isDatabaseUnreachable(error)) return true;
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && RETRYABLE_SQLSTATE.test(code);
}

/** A short, log-safe description of an error, for stage_retry.last_error. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${typeof code === 'string' ? `[${code}] ` : ''}${error.message}`.slice(0, 1000);
  }
  return String(error).slice(0, 1000);
}

/**
 * A statement refused because of a value it was given: SQLSTATE class 22 (data exception: a bad
 * date, number or text) or 23 (integrity constraint). Retrying the same rows fails again; rows
 * without the bad value succeed.
 */
export function isDataError(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  if (typeof code !== 'string' || !/^2[23][0-9A-Z]{3}$/.test(code)) return false;
  // A missing log partition is a check violation too (23514), but every row fails it, whoever
  // sent it: the fault of upkeep, not of a caller's value.
  return !MISSING_PARTITION.test((error as Error).message);
}

const MISSING_PARTITION = /^no partition of relation/;
