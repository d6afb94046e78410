// Errors as RFC 9457 problem details. Code throws ApiError with a stable code; app.onError is the
// one place that turns errors into HTTP responses (STYLE rule 8).
import { z } from '@hono/zod-openapi';

export const ERROR_CODES = {
  ValidationFailed: 400,
  MalformedJson: 400,
  InvalidAddress: 400,
  UnsupportedMediaType: 415,
  PayloadTooLarge: 413,
  TokenMissing: 401,
  TokenInvalid: 401,
  Forbidden: 403,
  NotAGroupMember: 403,
  ListenToForbidden: 403,
  NotFound: 404,
  RouteNotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  QueueFull: 429,
  RequestTimeout: 504,
  ShuttingDown: 503,
  InternalError: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const TITLES: Record<ErrorCode, string> = {
  ValidationFailed: 'The request is not valid',
  MalformedJson: 'The request body is not valid JSON',
  InvalidAddress: 'The address is not valid',
  UnsupportedMediaType: 'The request body must be application/json',
  PayloadTooLarge: 'The request body is too large',
  TokenMissing: 'A bearer token is required',
  TokenInvalid: 'The bearer token is not valid',
  Forbidden: 'Not allowed',
  NotAGroupMember: 'Only members of the group may do this',
  ListenToForbidden: 'Not allowed to listen to that address',
  NotFound: 'Not found',
  RouteNotFound: 'No such route',
  MethodNotAllowed: 'Method not allowed on this route',
  Conflict: 'Conflict',
  QueueFull: 'A recipient queue is full',
  RequestTimeout: 'No reply came in time',
  ShuttingDown: 'The service is shutting down',
  InternalError: 'Internal error',
};

export interface FieldError {
  /** JSON path of the field at fault, like messages.3.to */
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;
  /** Extra members of the problem body (RFC 9457 extensions), e.g. the id a client needs next. */
  readonly extensions: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { errors?: FieldError[]; headers?: Record<string, string>; extensions?: Record<string, string> } = {},
  ) {
    super(detail ?? TITLES[code]);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_CODES[code];
    this.errors = options.errors;
    this.headers = options.headers;
    this.extensions = options.extensions;
  }
}

export const ProblemSchema = z
  .looseObject({
    type: z.string().openapi({ example: '/problems/validation-failed' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    instance: z.string().optional(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export type Problem = z.infer<typeof ProblemSchema>;

export function problemBody(error: ApiError, instance: string, requestId: string | undefined): Problem {
  return {
    ...error.extensions,
    type: `/problems/${error.code.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}`,
    title: TITLES[error.code],
    status: error.status,
    detail: error.message,
    code: error.code,
    instance,
    ...(requestId ? { request_id: requestId } : {}),
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

/** Field errors from a zod error, with dotted paths. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
}

/** OpenAPI response entries for the problems a route can answer with. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: `Problem (${status})`, content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  );
}
