// A real HTTP receiver on 127.0.0.1 for webhook tests. Every request's signature is verified
// with the standardwebhooks package (the library receivers use) under the secrets it is told;
// the test decides each answer (status, delay, body) and reads what arrived.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedRequest {
  headers: Record<string, string>;
  body: string;
  messages: { id: string; payload: unknown; receive_count: number }[];
  /** Which of the receiver's secrets verified the signature. */
  verifiedWith: string[];
}

export interface Answer {
  status: number;
  delayMs?: number;
  body?: string;
  headers?: Record<string, string>;
}

export class WebhookReceiver {
  readonly received: ReceivedRequest[] = [];
  secrets: string[] = [];
  answer: (request: ReceivedRequest) => Answer = () => ({ status: 204 });
  inFlight = 0;
  maxInFlight = 0;
  #server: http.Server | undefined;
  #port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hook`;
  }

  async start(port = 0): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        const verifiedWith = this.secrets.filter((secret) => {
          try {
            new Webhook(secret).verify(body, headers);
            return true;
          } catch {
            return false;
          }
        });
        const request = { headers, body, messages: JSON.parse(body).messages, verifiedWith };
        this.received.push(request);
        const answer = this.answer(request);
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        setTimeout(() => {
          this.inFlight -= 1;
          if (res.destroyed) return;
          res.writeHead(answer.status, answer.headers ?? {});
          res.end(answer.body ?? '');
        }, answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  /** Stops listening: connections are refused until start(samePort) again. */
  async stop(): Promise<number> {
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    return this.#port;
  }

  /** Ids of every message received, in order (repeats included). */
  ids(): string[] {
    return this.received.flatMap((r) => r.messages.map((m) => m.id));
  }
}
