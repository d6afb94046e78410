import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { validationError } from '../http/problem.ts';

export const IDEMPOTENCY_KEY_MAX = 255;

// The draft makes the field a Structured Field string ("..." with printable ASCII inside); bare
// tokens of the same characters are accepted too, since many clients send them unquoted.
const QUOTED = new RegExp(`^"([\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]{1,${IDEMPOTENCY_KEY_MAX}})"$`);
const BARE = new RegExp(`^([\\x21\\x23-\\x5b\\x5d-\\x7e]{1,${IDEMPOTENCY_KEY_MAX}})$`);

const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .refine((value) => QUOTED.test(value) || BARE.test(value), `a quoted string of 1-${IDEMPOTENCY_KEY_MAX} printable ASCII characters (no " or \\)`)
    .transform((value) => (QUOTED.exec(value) ?? BARE.exec(value))![1]!)
    .optional()
    .openapi({
      param: { name: 'idempotency-key', in: 'header' },
      description: 'makes the publish safe to retry: the same key and body return the stored result; see README',
      example: '"8e03978e-40d5-43e8-bc93-6894a57f9324"',
    }),
});

/** The header's name under components/parameters (idempotencyKeyOf() checks it). */
const IDEMPOTENCY_KEY_PARAMETER = 'IdempotencyKey';

/** Registers the header under components/parameters; returns the `parameters` of a route that takes it. */
export function registerIdempotencyKeyParameter(registry: { registerParameter(refId: string, schema: z.ZodType): unknown }) {
  registry.registerParameter(IDEMPOTENCY_KEY_PARAMETER, IdempotencyHeaders.shape['idempotency-key']);
  return [{ $ref: `#/components/parameters/${IDEMPOTENCY_KEY_PARAMETER}` }];
}

/**
 * The request's Idempotency-Key, unquoted; a malformed one is a 400 naming the header, as the
 * route's own validation would give. Read alone: validating the route's `request.headers` makes
 * hono copy every header of the request into a new Headers first: 5.4% of the router's samples
 * during single publishes (bench/RESULTS.md, eighth session).
 */
export function idempotencyKeyOf(c: Context): string | undefined {
  const header = c.req.header('idempotency-key');
  if (header === undefined) return undefined; // most publishes: nothing to check
  const parsed = IdempotencyHeaders.safeParse({ 'idempotency-key': header });
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data['idempotency-key'];
}
