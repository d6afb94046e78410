// Errors the client throws: the service's problem, kept whole, or a reason of the client's own.
import type { Problem } from './types.ts';

export class SwitchyardError extends Error {
  /** The HTTP status (0 for a network failure). */
  readonly status: number;
  /** The service's stable error code (ValidationFailed, RateLimited, ...), or the client's (NetworkError, Timeout). */
  readonly code: string;
  readonly problem: Problem | undefined;

  constructor(status: number, code: string, message: string, problem?: Problem) {
    super(message);
    this.name = 'SwitchyardError';
    this.status = status;
    this.code = code;
    this.problem = problem;
  }

  static fromProblem(problem: Problem): SwitchyardError {
    return new SwitchyardError(problem.status, problem.code, problem.detail, problem);
  }
}

/** True for what a retry may cure: rate limits, overload, shutdown, and failures to reach the service. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SwitchyardError) return error.status === 429 || error.status === 503 || error.status === 0;
  return false;
}
