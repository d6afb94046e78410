// Backpressure at the router. Publishing is refused with 429 and Retry-After, rather than letting
// a backlog grow without bound, when
//  - a stage is further behind than its high-water mark (SWITCHYARD_BACKPRESSURE_LAG_SECONDS:
//    the oldest log row it has not passed is older than that), or
//  - a direct message would reach a full queue whose overflow policy is reject (QueueFull). A topic
//    or group message is never refused for a full queue: routing applies each full recipient's own
//    policy to its own copy (inbox/full-queues.ts).
// Both come from state refreshed every few seconds, never from a count on the publish path, and
// both lift by themselves once the backlog drains. Stage lag is read from the operators' snapshot
// source (ops/ops-snapshot.ts), the same numbers /metrics and the dashboard show; it reads the lag
// alone when no snapshot is fresh, rather than the whole round.
import { ApiError } from '../http/problem.ts';
import type { Logger } from '../logger.ts';
import { Worker } from '../queue/worker.ts';

export const BACKPRESSURE_RETRY_AFTER_SECONDS = 5;

/**
 * Where stage lag comes from: the operators' snapshot source (ops/ops-snapshot.ts), the same
 * numbers /metrics and the dashboard show (an interface: messages does not import ops).
 */
export interface StageLagSource {
  stageLag(): Promise<{ stage: string; lagSeconds: number }[]>;
}

/** What backpressure asks of inbox/full-queues.ts (an interface: messages does not import inbox, which imports messages). */
export interface FullQueueLookup {
  refresh(): Promise<void>;
  /** The full queues a direct message to `address` would reach. */
  reachedBy(address: string): string[];
}

export interface BackpressureOptions {
  fullQueues: FullQueueLookup;
  /** Told the client ids of the full queues a refused direct message would have reached (metrics). */
  onRefused?: (clientIds: string[]) => void;
  /** 0: never refuse for stage lag. */
  lagSeconds: number;
  /** The stages whose lag counts (those that run somewhere). */
  stages: string[];
}

export class Backpressure {
  readonly #snapshots: StageLagSource;
  readonly #o: BackpressureOptions;
  #lagging: { stage: string; lagSeconds: number } | undefined;

  constructor(snapshots: StageLagSource, options: BackpressureOptions) {
    this.#snapshots = snapshots;
    this.#o = options;
  }

  async refresh(): Promise<void> {
    await this.#o.fullQueues.refresh();
    if (this.#o.lagSeconds <= 0) return;
    const lagging = (await this.#snapshots.stageLag())
      .filter((row) => this.#o.stages.includes(row.stage) && row.lagSeconds > this.#o.lagSeconds)
      .sort((a, b) => b.lagSeconds - a.lagSeconds)[0];
    this.#lagging = lagging ? { stage: lagging.stage, lagSeconds: lagging.lagSeconds } : undefined;
  }

  /** The stage that holds publishing back, if any. */
  get lagging(): { stage: string; lagSeconds: number } | undefined {
    return this.#lagging;
  }

  /** Throws Backpressure or QueueFull when a message to `address` must wait. */
  check(address: string, path: string): void {
    const headers = { 'retry-after': String(BACKPRESSURE_RETRY_AFTER_SECONDS) };
    if (this.#lagging) {
      const { stage, lagSeconds } = this.#lagging;
      throw new ApiError('Backpressure', `the ${stage} stage is ${Math.round(lagSeconds)} s behind; retry later`, { headers });
    }
    const full = this.#o.fullQueues.reachedBy(address);
    if (full.length > 0) {
      this.#o.onRefused?.(full);
      throw new ApiError('QueueFull', `the queue that ${address} reaches is full; retry later`, {
        errors: [{ path, message: `a recipient's queue is full` }],
        headers,
      });
    }
  }

  createRefreshWorker(intervalMs: number, log: Logger): Worker {
    return new Worker({
      name: 'router:backpressure',
      pollMs: intervalMs,
      log,
      runOnce: async () => {
        await this.refresh();
        return { processed: 0, more: false };
      },
    });
  }
}
