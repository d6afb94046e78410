// Small shared pieces for route definitions: JSON bodies and responses, the security scheme,
// and the validation hook that turns zod failures into the same problem+json as every other error.
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from './env.ts';
import { ApiError, validationError } from './problem.ts';

export const bearer = [{ bearer: [] as string[] }];

/**
 * Any JSON value, in responses. Not z.json(): that schema is recursive, and the OpenAPI generator
 * walks it until the stack overflows, which made /openapi.json a 500.
 */
export const JsonValueSchema = z.unknown().openapi({ description: 'any JSON value' });

export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { content: { 'application/json': { schema } }, required: true, ...(description ? { description } : {}) };
}

/**
 * For routes whose body may be all defaults (every field optional): without it a request with no
 * body at all validates as {} and succeeds, which nobody means.
 */
export const requireJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) {
    throw new ApiError('UnsupportedMediaType', 'send the body as application/json');
  }
  await next();
});

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/**
 * A router whose validation failures are ApiErrors: 400 ValidationFailed with the failing fields,
 * or the code of a broken limit.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error);
    },
  });
}
