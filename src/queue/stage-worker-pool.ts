// The workers of one stage in one process, between minWorkers and maxWorkers of them: more
// consumers while the backlog grows, fewer once it is gone. The runner says what it saw after
// every run: `more` (it claimed as many lanes as it may, or filled a lane's batch) means work is
// waiting. After growAfterBusyRuns such runs in a row, the pool starts another worker; a worker
// above the minimum that found nothing to do for idleMs stops. At most one change per cooldownMs.
//
// Correctness does not depend on the count: several runners sharing the lanes is what the cursors
// are built for (claims use SKIP LOCKED). Useful concurrency is bounded by the 16 lanes divided by
// lanesPerClaim; past that, an extra worker finds no free lane, reports no more work and goes away.
import type { Logger } from '../logger.ts';
import { Worker, type RunResult } from './worker.ts';

export const GROW_AFTER_BUSY_RUNS_DEFAULT = 3;
export const SCALE_COOLDOWN_MS_DEFAULT = 1_000;
export const IDLE_MS_DEFAULT = 10_000;

export interface StageWorkerPoolOptions {
  runner: {
    readonly stageName: string;
    runOnce(): Promise<RunResult>;
    /** Told where the log grew before the workers are woken (StageRunner narrows its next lane claim). */
    noteNewRows?(lanes: readonly string[] | undefined): void;
  };
  minWorkers: number;
  maxWorkers: number;
  pollMs: number;
  /** Passed to each worker: wait this long after catching up (0 for stages on the latency path). */
  wakeDelayMs?: number;
  log: Logger;
  growAfterBusyRuns?: number;
  cooldownMs?: number;
  idleMs?: number;
  now?: () => number;
}

interface Slot {
  worker: Worker;
  lastBusyAt: number;
}

export class StageWorkerPool {
  readonly name: string;
  readonly #o: Required<Omit<StageWorkerPoolOptions, 'now'>> & { now: () => number };
  readonly #slots: Slot[] = [];
  readonly #retiring = new Set<Promise<void>>();
  #busyRuns = 0;
  #lastChangeAt = -Infinity;
  #running = false;

  constructor(options: StageWorkerPoolOptions) {
    this.name = `stage:${options.runner.stageName}`;
    this.#o = {
      growAfterBusyRuns: GROW_AFTER_BUSY_RUNS_DEFAULT, cooldownMs: SCALE_COOLDOWN_MS_DEFAULT, idleMs: IDLE_MS_DEFAULT, wakeDelayMs: 0,
      now: Date.now, ...options,
    };
  }

  /** Workers running now. */
  get size(): number {
    return this.#slots.length;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    while (this.#slots.length < this.#o.minWorkers) this.#add();
  }

  /**
   * The log grew (a NOTIFY, or a local signal). Workers in a run take it as "run again once done",
   * and that run reads the new rows; starting an idle worker beside them would mostly cost an empty
   * lane claim, since the busy lanes are locked (at 3,000 msg/s on one topic, more than half of all
   * routing batches found nothing, each a lane claim of about 130 us of PostgreSQL). With no worker
   * in a run, one waiting worker starts; a run that finds more than it may take wakes the next
   * (adapt), so a backlog still spreads over the pool. `lanes` are the signal's keys: the lanes
   * the new rows are in, undefined when it did not say.
   */
  wake(lanes?: readonly string[]): void {
    this.#o.runner.noteNewRows?.(lanes);
    let running = false;
    for (const slot of this.#slots) {
      if (!slot.worker.running) continue;
      slot.worker.wake();
      running = true;
    }
    if (!running) this.#wakeOneWaiting();
  }

  /** A worker backing off or pausing after a batch is not waiting: it runs when its pause ends. */
  #wakeOneWaiting(except?: Slot): void {
    this.#slots.find((s) => s !== except && s.worker.waiting)?.worker.wake();
  }

  /** One run of the stage, outside the loop (tests). */
  runOnce(): Promise<RunResult> {
    return this.#o.runner.runOnce();
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.#running = false;
    const slots = this.#slots.splice(0);
    await Promise.all([...slots.map((slot) => slot.worker.stop(timeoutMs)), ...this.#retiring]);
  }

  #add(): void {
    const index = this.#slots.length;
    const slot: Slot = {
      worker: new Worker({
        name: `${this.name}#${index}`, pollMs: this.#o.pollMs, wakeDelayMs: this.#o.wakeDelayMs, log: this.#o.log,
        runOnce: async () => {
          const result = await this.#o.runner.runOnce();
          this.#adapt(slot, result);
          return result;
        },
      }),
      lastBusyAt: this.#o.now(),
    };
    this.#slots.push(slot);
    slot.worker.start();
  }

  #adapt(slot: Slot, result: RunResult): void {
    if (!this.#running) return;
    const now = this.#o.now();
    if (result.processed > 0 || result.more) slot.lastBusyAt = now;
    const settled = now - this.#lastChangeAt >= this.#o.cooldownMs;
    if (result.more) {
      this.#wakeOneWaiting(slot);
      this.#busyRuns += 1;
      if (this.#busyRuns >= this.#o.growAfterBusyRuns && settled && this.#slots.length < this.#o.maxWorkers) {
        this.#busyRuns = 0;
        this.#lastChangeAt = now;
        this.#add();
        this.#o.log.info('stage workers added', { stage: this.#o.runner.stageName, workers: this.#slots.length });
      }
      return;
    }
    this.#busyRuns = 0;
    // Only the newest worker retires, so the ones that stay are always #0..#n-1.
    const newest = this.#slots.at(-1) === slot;
    if (newest && this.#slots.length > this.#o.minWorkers && settled && now - slot.lastBusyAt >= this.#o.idleMs) {
      this.#slots.pop();
      this.#lastChangeAt = now;
      // Not awaited: this runs inside the worker's own loop, which ends once this run returns.
      const retired: Promise<void> = slot.worker.stop().finally(() => this.#retiring.delete(retired));
      this.#retiring.add(retired);
      this.#o.log.info('stage workers removed', { stage: this.#o.runner.stageName, workers: this.#slots.length });
    }
  }
}
