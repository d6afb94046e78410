// Frames written to one WebSocket, with the SSE writer's rule for consumers that stop reading:
// while the socket holds more than a high-water mark of unsent bytes, the next write waits for it
// to drain, and a socket that stays over the mark for the write timeout fails the write with
// SlowConsumerError (the stream then closes it and gives its leases back).
import type { WebSocket } from 'ws';
import { SlowConsumerError } from './slow-consumer.ts';
import { WS_CLOSE_CODES, type WsCloseCode } from './ws-frames.schemas.ts';

/**
 * Unsent bytes a socket may hold before writes wait: a few prefetch windows of typical messages.
 * Not a setting: the write timeout is the knob that decides how slow is too slow.
 */
export const WS_HIGH_WATER_BYTES = 256 * 1024;
/** How often a waiting write looks at the buffer again; only congested sockets poll. */
const DRAIN_POLL_MS = 20;

export class WsWriter {
  readonly #ws: WebSocket;
  readonly #writeTimeoutMs: number;

  constructor(ws: WebSocket, writeTimeoutMs: number) {
    this.#ws = ws;
    this.#writeTimeoutMs = writeTimeoutMs;
  }

  get open(): boolean {
    return this.#ws.readyState === this.#ws.OPEN;
  }

  /** Sends one frame; resolves once the socket's buffer is under the high-water mark again. */
  send(frame: object): Promise<void> {
    if (!this.open) return Promise.resolve();
    this.#ws.send(JSON.stringify(frame));
    if (this.#ws.bufferedAmount <= WS_HIGH_WATER_BYTES) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const timer = setInterval(() => {
        if (!this.open || this.#ws.bufferedAmount <= WS_HIGH_WATER_BYTES) {
          clearInterval(timer);
          resolve();
        } else if (Date.now() - started >= this.#writeTimeoutMs) {
          clearInterval(timer);
          reject(new SlowConsumerError());
        }
      }, DRAIN_POLL_MS);
    });
  }

  /** Says why in a closed frame, then closes with the matching code; a socket that does not read is dropped after the write timeout. */
  close(code: WsCloseCode, detail: string): void {
    if (!this.open) return;
    this.#ws.send(JSON.stringify({ type: 'closed', code, detail }));
    this.#ws.close(WS_CLOSE_CODES[code], code);
    const timer = setTimeout(() => this.#ws.terminate(), this.#writeTimeoutMs);
    timer.unref();
    this.#ws.once('close', () => clearTimeout(timer));
  }
}
