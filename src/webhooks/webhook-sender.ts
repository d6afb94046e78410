// One POST of a batch to an endpoint: signed, with a timeout, never following redirects (a 3xx is
// a failure like any non-2xx), reading at most RESPONSE_BODY_LIMIT bytes of the answer.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { AddressGuard } from './address-guard.ts';
import { signWebhook } from './webhook-signature.ts';

/** Bytes of a response body kept (for the dead letter's error); the rest is never read. */
export const RESPONSE_BODY_LIMIT = 4096;
/** Characters of the body excerpt put into a delivery's error. */
const EXCERPT_CHARS = 200;

export interface WebhookTarget {
  url: string;
  secrets: string[];
  timeoutMs: number;
}

/** A delivery attempt that failed: a non-2xx status, a timeout or a connection error. */
export class WebhookDeliveryError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

export class WebhookSender {
  readonly #guard: AddressGuard;
  readonly #agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

  constructor(guard: AddressGuard) {
    this.#guard = guard;
  }

  /** Resolves with the status of a 2xx answer; throws WebhookDeliveryError otherwise. */
  async send(target: WebhookTarget, id: string, body: string, nowSeconds: number): Promise<number> {
    const url = new URL(target.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const secure = url.protocol === 'https:';
    try {
      if (isIP(host)) this.#guard.checkAddress(host, host, !secure); // a literal address skips the lookup
    } catch (error) {
      throw new WebhookDeliveryError((error as Error).message);
    }
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'switchyard-webhooks',
      ...signWebhook(target.secrets, id, nowSeconds, body),
    };
    const { status, excerpt } = await new Promise<{ status: number; excerpt: string }>((resolve, reject) => {
      const request = (secure ? https : http).request(url, {
        method: 'POST', headers, agent: secure ? this.#agents.https : this.#agents.http, lookup: secure ? this.#guard.lookup : this.#guard.plainLookup,
        signal: AbortSignal.timeout(target.timeoutMs),
      }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => resolve({ status: response.statusCode ?? 0, excerpt: Buffer.concat(chunks).toString('utf8') });
        response.on('data', (chunk: Buffer) => {
          if (size < RESPONSE_BODY_LIMIT) chunks.push(chunk.subarray(0, RESPONSE_BODY_LIMIT - size));
          size += chunk.length;
          if (size >= RESPONSE_BODY_LIMIT) {
            response.destroy(); // enough read: never buffer a large answer
            finish();
          }
        });
        response.on('end', finish);
        response.on('error', (error) => reject(error));
      });
      request.on('error', reject);
      request.end(body);
    }).catch((error: Error & { code?: string }) => {
      if (error.name === 'TimeoutError' || error.name === 'AbortError') throw new WebhookDeliveryError(`timed out after ${target.timeoutMs} ms`);
      throw new WebhookDeliveryError(`${error.code ? `${error.code}: ` : ''}${error.message}`);
    });
    if (status >= 200 && status < 300) return status;
    const text = excerpt.replace(/\s+/g, ' ').trim().slice(0, EXCERPT_CHARS);
    throw new WebhookDeliveryError(`HTTP ${status}${text ? `: ${text}` : ''}`, status);
  }

  close(): void {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }
}
