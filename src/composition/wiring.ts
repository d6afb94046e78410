// What every part of the composition root is built with: the configuration, the pools, the
// signals, the metrics, the one undo stack, and the list of background workers started last.
import type { Config, Role } from '../config.ts';
import type { Pools } from '../db/pools.ts';
import type { Logger } from '../logger.ts';
import type { Signals } from '../notifications/signals.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { BackgroundWorker } from '../queue/worker.ts';
import type { Teardown } from '../teardown.ts';

export interface Wiring {
  config: Config;
  log: Logger;
  has: (role: Role) => boolean;
  pools: Pools;
  signals: Signals;
  metrics: Metrics;
  teardown: Teardown;
  /** Started together once everything is built; stopped together before the pools close. */
  workers: BackgroundWorker[];
  /** Injected clock for tests (inbox leases, rate limits); the database's now() and the process clock otherwise. */
  now?: (() => Date) | undefined;
}

/** A queue's defaults where its own policy says nothing (config/tuning.ts delivery: length, overflow, receives, backoff). */
export function queueDefaults(config: Config) {
  return { maxLength: config.delivery.maxLength, overflow: config.delivery.overflow };
}

export function policyDefaults(config: Config) {
  return {
    maxReceives: config.delivery.maxReceives,
    backoffBaseMs: config.delivery.nackBackoffBaseMs,
    backoffCapMs: config.delivery.nackBackoffCapMs,
  };
}
