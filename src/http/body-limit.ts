// The request body limit (413 above SWITCHYARD_MAX_BODY_BYTES). A body with a Content-Length is
// judged by its header and then read by @hono/node-server straight from the socket (Node's parser
// never delivers more than Content-Length bytes). Only a chunked body without a length is read
// here, counting as it goes. hono's own bodyLimit middleware would do the same job, but it asks for
// the request's web ReadableStream, and building that (a full WHATWG Request, its Headers and a
// stream adapter) cost more CPU per publish than the rest of the router together.
import type { IncomingMessage } from 'node:http';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from './env.ts';
import { ApiError } from './problem.ts';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

export function limitBody(maxBytes: number) {
  const tooLarge = () => new ApiError('PayloadTooLarge', `the body is larger than ${maxBytes} bytes`);
  return createMiddleware<AppEnv & { Bindings: { incoming?: IncomingMessage } }>(async (c, next) => {
    if (!METHODS_WITH_BODY.has(c.req.method)) return next();
    const length = c.req.header('content-length');
    if (length !== undefined) {
      if (Number(length) > maxBytes) throw tooLarge();
      return next();
    }
    if (c.req.header('transfer-encoding') === undefined) return next();
    const chunks: Buffer[] = [];
    let size = 0;
    const source: AsyncIterable<Uint8Array> = c.env?.incoming ?? (c.req.raw.body as unknown as AsyncIterable<Uint8Array>) ?? [];
    for await (const chunk of source) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge();
      chunks.push(Buffer.from(chunk));
    }
    // hono's request methods (json(), text()) read this cache before the request itself; it holds
    // promises, whatever its declared type says.
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(Buffer.concat(chunks).toString('utf8'));
    return next();
  });
}
