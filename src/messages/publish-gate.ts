// The router's door under overload: how many publish requests this process is working on at once
// (reading the body, authorizing, waiting for group commit). Past the limit a new one is refused
// at once with 503 Overloaded and Retry-After, before its token is looked up or its body read.
//
// Why a count at the door and not only the group-commit queue bounds (messages.service.ts): when
// the router's own thread is the limit, requests wait in sockets and in the HTTP parser, where no
// queue of ours sees them; the queue behind the door stays short while clients time out (measured:
// 1.5x the sustained rate from 256 connections gave 0 refusals and 200,000 client timeouts). The
// count sees every request that got in, so the excess is answered in microseconds, clients spend
// their connections on answers instead of waits, and what is accepted keeps its latency.
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../http/env.ts';
import { overloaded } from './messages.service.ts';

export class PublishGate {
  readonly #max: number;
  #inFlight = 0;

  constructor(maxInFlight: number) {
    this.#max = maxInFlight;
  }

  /** Publishes being worked on now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  middleware() {
    return createMiddleware<AppEnv>(async (_c, next) => {
      if (this.#inFlight >= this.#max) {
        throw overloaded(`this router is working on ${this.#max} publishes already`);
      }
      this.#inFlight += 1;
      try {
        await next();
      } finally {
        this.#inFlight -= 1;
      }
    });
  }
}
