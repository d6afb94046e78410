// Requests so broken that Node's HTTP parser refuses them before Hono sees them (a header block
// over Node's limit, a malformed request line, a request too slow to arrive). Node would answer
// with a bare status line; this answers with problem+json like every other error, then closes.
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, problemBody, type ErrorCode } from './problem.ts';

const BY_NODE_CODE: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'RequestHeadersTooLarge',
  ERR_HTTP_REQUEST_TIMEOUT: 'RequestTimeout',
};

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    // A connection reset or one already answered has nobody left to tell.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const problem = new ApiError(BY_NODE_CODE[error.code ?? ''] ?? 'MalformedRequest');
    const body = JSON.stringify(problemBody(problem, '', undefined));
    socket.end(
      `HTTP/1.1 ${problem.status} ${REASONS[problem.status] ?? 'Error'}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
    );
  });
}
