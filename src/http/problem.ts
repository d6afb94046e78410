// Errors as RFC 9457 problem details. Code throws ApiError with a stable code; app.onError is the
// one place that turns errors into HTTP responses (docs/conventions.md, Errors).
import { z } from '@hono/zod-openapi';

export const ERROR_CODES = {
  ValidationFailed: 400,
  MalformedJson: 400,
  MalformedRequest: 400,
  InvalidAddress: 400,
  UnsupportedMediaType: 415,
  PayloadTooLarge: 413,
  RequestHeadersTooLarge: 431,
  RequestTimeout: 408,
  // Limits (config SWITCHYARD_MAX_*): bytes over a limit are 413, counts, depths and lengths 400.
  MessagePayloadTooLarge: 413,
  PayloadTooDeep: 400,
  BatchTooLarge: 400,
  TooManyHeaders: 400,
  AddressTooLong: 400,
  TooManyListenTo: 400,
  SchemaInvalid: 400,
  ValueRefused: 400,
  WebhookUrlRefused: 400,
  FilterPolicyInvalid: 400,
  FilterPolicyTooLarge: 400,
  TooManyRoutingRules: 400,
  TokenMissing: 401,
  TokenInvalid: 401,
  Forbidden: 403,
  NotAGroupMember: 403,
  ListenToForbidden: 403,
  ReplyToForbidden: 403,
  TopicPublishForbidden: 403,
  TopicSubscribeForbidden: 403,
  OriginNotAllowed: 403,
  CrossSiteCookieRefused: 403,
  AutoAckNeedsAuthorizationHeader: 400,
  NotFound: 404,
  RouteNotFound: 404,
  MethodNotAllowed: 405,
  UpgradeRequired: 426,
  Conflict: 409,
  ClientRevoked: 409,
  IdempotencyKeyInFlight: 409,
  // 422: the request is well-formed and allowed, but its content cannot be accepted as it is.
  SchemaViolation: 422,
  IdempotencyKeyReused: 422,
  RateLimited: 429,
  TooManyStreams: 429,
  TooManyWaits: 429,
  AuthFailuresThrottled: 429,
  QueueFull: 429,
  Backpressure: 429,
  ReplyTimeout: 504,
  ShuttingDown: 503,
  DatabaseUnavailable: 503,
  Overloaded: 503,
  InternalError: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const TITLES: Record<ErrorCode, string> = {
  ValidationFailed: 'The request is not valid',
  MalformedJson: 'The request body is not valid JSON',
  MalformedRequest: 'The request is not valid HTTP',
  RequestHeadersTooLarge: 'The request headers are too large',
  RequestTimeout: 'The request took too long to arrive',
  InvalidAddress: 'The address is not valid',
  UnsupportedMediaType: 'The request body must be application/json',
  PayloadTooLarge: 'The request body is too large',
  MessagePayloadTooLarge: 'A message payload is too large',
  PayloadTooDeep: 'A JSON value is nested too deeply',
  BatchTooLarge: 'The batch has too many messages',
  TooManyHeaders: 'A message has too many headers',
  AddressTooLong: 'An address is too long',
  TooManyListenTo: 'The listen-to list is too long',
  SchemaInvalid: 'The JSON Schema is not valid',
  ValueRefused: 'The database refused a value of the request',
  FilterPolicyInvalid: 'The filter policy is not valid',
  FilterPolicyTooLarge: 'The filter policy is over a limit',
  TooManyRoutingRules: 'There are as many routing rules as allowed',
  TokenMissing: 'A bearer token is required',
  TokenInvalid: 'The bearer token is not valid',
  Forbidden: 'Not allowed',
  NotAGroupMember: 'Only members of the group may do this',
  ListenToForbidden: 'Not allowed to listen to that address',
  ReplyToForbidden: 'reply_to must be an address this client may listen to',
  TopicPublishForbidden: "The topic's policy does not let this client publish to it",
  TopicSubscribeForbidden: "The topic's policy does not let this client read it",
  OriginNotAllowed: 'This origin may not call the API from a browser',
  CrossSiteCookieRefused: 'The token cookie is not accepted from another site',
  AutoAckNeedsAuthorizationHeader: 'ack=auto needs the token in the Authorization header',
  NotFound: 'Not found',
  RouteNotFound: 'No such route',
  MethodNotAllowed: 'Method not allowed on this route',
  UpgradeRequired: 'This endpoint speaks WebSocket only',
  Conflict: 'Conflict',
  ClientRevoked: 'The client is revoked',
  IdempotencyKeyInFlight: 'A request with this Idempotency-Key is still being processed',
  SchemaViolation: "A payload does not match its topic's JSON Schema",
  IdempotencyKeyReused: 'This Idempotency-Key was used for a different request',
  RateLimited: 'Too many requests',
  TooManyStreams: 'This client holds as many event streams open as it may',
  TooManyWaits: 'This client holds as many long polls and requests open as it may',
  AuthFailuresThrottled: 'Too many failed authentications from this address',
  QueueFull: 'A recipient queue is full',
  WebhookUrlRefused: 'Webhooks may not be sent to that URL',
  Backpressure: 'A stage is too far behind to take more messages now',
  ReplyTimeout: 'No reply came in time',
  ShuttingDown: 'The service is shutting down',
  DatabaseUnavailable: 'The database cannot be reached; nothing was changed by this request',
  Overloaded: 'The service has more work waiting than it takes now',
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
    ...(instance ? { instance } : {}),
    ...(requestId ? { request_id: requestId } : {}),
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Past this many field errors a problem lists no more: a hostile batch must not make a huge answer. */
export const FIELD_ERRORS_MAX = 50;

/**
 * The ApiError for a failed validation. A schema marks an issue that breaks a configured limit with
 * params.code (see limitRefinement); then that code is the answer, with only those issues, since
 * everything else about an oversized input is noise. Otherwise ValidationFailed with every field.
 */
export function validationError(error: z.ZodError): ApiError {
  const coded = error.issues.filter((issue) => issue.code === 'custom' && isErrorCode(issue.params?.code));
  const issues = coded.length > 0 ? coded : error.issues;
  const code: ErrorCode = coded.length > 0 ? (coded[0] as z.core.$ZodIssueCustom).params!.code : 'ValidationFailed';
  return fieldProblem(code, issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  })));
}

/** An ApiError naming the fields at fault, at most FIELD_ERRORS_MAX of them. */
export function fieldProblem(code: ErrorCode, all: FieldError[]): ApiError {
  const errors = all.slice(0, FIELD_ERRORS_MAX);
  const more = all.length > errors.length ? `; and ${all.length - errors.length} more` : '';
  return new ApiError(code, errors.map((e) => `${e.path}: ${e.message}`).join('; ') + more, { errors });
}

/**
 * Options for a zod refinement that reports a broken limit under its own error code. It runs
 * whenever the value has the right type (`applies`), even when it has other issues: a batch of
 * 5000 bad messages is BatchTooLarge, not 5000 field errors.
 */
export function limitRefinement(code: ErrorCode, message: string, applies: (value: unknown) => boolean) {
  return { message, params: { code }, when: (payload: { value: unknown }) => applies(payload.value) } as const;
}

export const isString = (value: unknown): value is string => typeof value === 'string';
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** OpenAPI response entries for the problems a route can answer with. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: `Problem (${status})`, content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  );
}
