// Small shared pieces for route definitions: JSON bodies and responses, the security scheme,
// and the validation hook that turns zod failures into the same problem+json as every other error.
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import type { z as zod } from 'zod';
import type { AppEnv } from './env.ts';
import { ApiError, fieldErrors } from './problem.ts';

/** Any JSON value, as the schemas' z.json() type it. */
export type Json = zod.infer<ReturnType<typeof zod.json>>;

export const bearer = [{ bearer: [] as string[] }];

export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { content: { 'application/json': { schema } }, required: true, ...(description ? { description } : {}) };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/** A router whose validation failures are ApiErrors (400 ValidationFailed with the failing fields). */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const errors = fieldErrors(result.error);
        throw new ApiError('ValidationFailed', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
      }
    },
  });
}
