import { z } from '@hono/zod-openapi';

export const IDEMPOTENCY_KEY_MAX = 255;

// The draft makes the field a Structured Field string ("..." with printable ASCII inside); bare
// tokens of the same characters are accepted too, since many clients send them unquoted.
const QUOTED = new RegExp(`^"([\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]{1,${IDEMPOTENCY_KEY_MAX}})"$`);
const BARE = new RegExp(`^([\\x21\\x23-\\x5b\\x5d-\\x7e]{1,${IDEMPOTENCY_KEY_MAX}})$`);

export const IdempotencyHeaders = z.object({
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
