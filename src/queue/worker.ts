// The one lifecycle every background worker shares (docs/conventions.md, Workers' lifecycle): start(), stop(), runOnce().
// A worker runs runOnce() again at once while it reports more work, otherwise it sleeps until
// wake() is called (a NOTIFY or an in-process signal) or its poll interval passes, whichever comes
// first: NOTIFY is only a hint, the poll is the floor. Wake-ups during a run are coalesced into one
// more run. A worker nobody waits on can take wakeDelayMs after it has caught up, so that one run
// takes everything that arrived meanwhile. Tests call runOnce() directly and never start the loop.
import { isDatabaseUnreachable } from '../db/errors.ts';
import { stormProof, type Logger } from '../logger.ts';

/**
 * Backoff cap while the database cannot be reached: the outage ends when it ends, and a worker that
 * sleeps 10 s past it delays every message accepted just before (the listener's reconnect also
 * wakes it). Failures caused by the data back off up to maxBackoffMs as before.
 */
export const UNREACHABLE_BACKOFF_CAP_MS = 1_000;

export interface RunResult {
  /** Items handled in this run (rows, messages). */
  processed: number;
  /** True when the worker knows more work is waiting and should run again without sleeping. */
  more: boolean;
}

export interface WorkerOptions {
  name: string;
  pollMs: number;
  /** Once caught up, wait this long before the next run (batching for workers off the latency path). */
  wakeDelayMs?: number;
  log: Logger;
  runOnce: (signal: AbortSignal) => Promise<RunResult>;
  /** Backoff after a failed run, doubled per consecutive failure up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** What the composition root starts and stops: a Worker, or a pool of them (stage-worker-pool.ts). */
export interface BackgroundWorker {
  readonly name: string;
  start(): void;
  wake(): void;
  stop(timeoutMs?: number): Promise<void>;
}

const running = new Set<Worker>();

/** Workers whose loop is running: tests assert this is empty when they finish. */
export function runningWorkers(): string[] {
  return [...running].map((worker) => worker.name);
}

export class Worker {
  readonly name: string;
  readonly #options: WorkerOptions;
  #loop: Promise<void> | undefined;
  #abort = new AbortController();
  #stopping = false;
  #woken = false;
  #inRun = false;
  #wakeSleeper: (() => void) | undefined;
  #sleepWakeable = false;
  readonly #outageLog: Logger;

  constructor(options: WorkerOptions) {
    this.name = options.name;
    this.#options = options;
    this.#outageLog = stormProof(options.log);
  }

  runOnce(): Promise<RunResult> {
    return this.#options.runOnce(this.#abort.signal);
  }

  /** In a run: a wake-up now makes it run again as soon as this run ends. */
  get running(): boolean {
    return this.#inRun;
  }

  /** Asleep until the next poll, and a wake-up starts a run at once (not backing off after a failure). */
  get waiting(): boolean {
    return this.#wakeSleeper !== undefined && this.#sleepWakeable;
  }

  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#abort = new AbortController();
    running.add(this);
    this.#loop = this.#run().finally(() => running.delete(this));
  }

  wake(): void {
    this.#woken = true;
    this.#wakeSleeper?.();
  }

  /** Stops claiming, waits up to timeoutMs for the run in flight, then aborts it. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const loop = this.#loop;
    if (!loop) return;
    this.#stopping = true;
    this.#wakeSleeper?.();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    if ((await Promise.race([loop, timedOut])) === 'timeout') {
      this.#options.log.warn('worker did not finish in time, aborting', { worker: this.name, timeoutMs });
      this.#abort.abort();
      await loop;
    }
    clearTimeout(timer);
    this.#loop = undefined;
  }

  async #run(): Promise<void> {
    const { log, pollMs, wakeDelayMs = 0, minBackoffMs = 100, maxBackoffMs = 10_000 } = this.#options;
    let failures = 0;
    let caughtUp = false;
    while (!this.#stopping) {
      if (caughtUp && wakeDelayMs > 0) {
        await this.#sleep(wakeDelayMs, false);
        if (this.#stopping) break;
      }
      this.#woken = false;
      let result: RunResult;
      this.#inRun = true;
      try {
        result = await this.#options.runOnce(this.#abort.signal);
        failures = 0;
        caughtUp = !result.more;
      } catch (error) {
        this.#inRun = false;
        failures += 1;
        const unreachable = isDatabaseUnreachable(error);
        const backoff = Math.min(unreachable ? UNREACHABLE_BACKOFF_CAP_MS : maxBackoffMs, minBackoffMs * 2 ** (failures - 1));
        if (unreachable) this.#outageLog.warn('worker cannot reach the database', { worker: this.name, error: (error as Error).message, failures, retryInMs: backoff });
        else log.error('worker run failed', { worker: this.name, error, failures, retryInMs: backoff });
        // A run that failed on its data is not retried sooner because of a wake-up; one that failed
        // because the database was away is (the wake-up after the listener reconnects says it is back).
        await this.#sleep(backoff, unreachable);
        continue;
      }
      this.#inRun = false;
      if (result.more || this.#woken) continue;
      await this.#sleep(pollMs, true);
    }
  }

  #sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.#stopping || (wakeable && this.#woken)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeSleeper = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepWakeable = wakeable;
      this.#wakeSleeper = wakeable ? done : () => this.#stopping && done();
    });
  }
}
