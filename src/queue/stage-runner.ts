// Runs one stage over the message log: claim lanes, read and advance their cursors, do the
// stage's work, commit, all in one transaction. A stage whose work is only database writes is
// therefore exactly-once. Several runners (threads of one process, or processes) share the lanes.
// A message that makes the stage fail is set aside in stage_retry so its lane moves on.
import type { Db, Tx } from '../db/database.ts';
import { describeError, isTransientDatabaseError } from '../db/errors.ts';
import type { Logger } from '../logger.ts';
import { LaneHints, type LaneSelection } from './lane-hints.ts';
import { claimLanes, listLogEntries, readLaneBatches, type LogEntry } from './stage-cursor.repository.ts';
import {
  claimDueStageRetries, createEntrySavepoint, deleteStageRetry, hasDueStageRetries, insertStageRetry, moveStageRetryToDeadLetter,
  releaseEntrySavepoint, rescheduleStageRetry, rollbackToEntrySavepoint,
} from './stage-retry.repository.ts';
import type { RunResult } from './worker.ts';

export type AfterCommit = (effect: () => void) => void;

export interface Stage {
  readonly name: string;
  /**
   * The stage's work for a batch, inside the transaction that read it. It must not append to the
   * message log in this transaction. Effects that must wait for the commit go to afterCommit.
   */
  handle(tx: Tx, entries: LogEntry[], afterCommit: AfterCommit): Promise<void>;
  /**
   * Optional: the whole batch (claim, read, work, advance) as one autocommitted statement, which
   * saves the round trips of a transaction driven from here. Undefined when this batch needs the
   * general path (handle). A stage offering it keeps the cursor rules in SQL (migrations 0021, 0029).
   * `lanes` narrows the lane claim (lane-hints.ts); undefined claims from every lane.
   */
  runInOneStatement?(db: Db, lanesPerClaim: number, batchSize: number, lanes: LaneSelection): Promise<OneStatementBatch | undefined>;
}

export interface OneStatementBatch {
  lanes: number;
  processed: number;
  /** A lane filled the batch: there is more to read at once. */
  fullLane: boolean;
  /** Effects of the committed batch (waking receivers). */
  effects: (() => void)[];
}

export interface StageRunnerOptions {
  db: Db;
  stage: Stage;
  log: Logger;
  batchSize: number;
  lanesPerClaim: number;
  retryLimit: number;
  /** Test seam: runs after the stage's work, before the commit. */
  beforeCommit?: (tx: Tx, entries: LogEntry[]) => Promise<void>;
  /** Told after every run that handled messages: how many, and how long the run took (metrics). */
  onBatch?: (processed: number, seconds: number) => void;
  /** Injected clock for tests: retry backoff and when to look for due retries (the database's now() otherwise), when to look at every lane. */
  now?: () => Date;
  /** Look at every lane at least this often, whatever the hints say (the stage's poll interval). */
  fullLaneCheckMs?: number;
}

/** Without a poll interval to follow, every lane is looked at at least once a second. */
const FULL_LANE_CHECK_MS_DEFAULT = 1_000;

const RETRY_BASE_MS = 1_000;
/** Retries wait at least half a second, so looking for due ones more often than this is waste. */
const RETRY_CHECK_INTERVAL_MS = 250;
const RETRY_CAP_MS = 5 * 60_000;

/** Exponential backoff with full jitter over the upper half: attempt 1 waits 0.5-1 s, then 1-2 s, ... */
export function stageRetryDelayMs(attempt: number): number {
  const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export class StageRunner {
  readonly #o: StageRunnerOptions;
  readonly #hints: LaneHints;
  #nextRetryCheck = 0;

  constructor(options: StageRunnerOptions) {
    this.#o = options;
    this.#hints = new LaneHints(options.fullLaneCheckMs ?? FULL_LANE_CHECK_MS_DEFAULT, () => options.now?.().getTime() ?? Date.now());
  }

  get stageName(): string {
    return this.#o.stage.name;
  }

  /** The log grew in these lanes (the 'log' signal's keys; undefined: anywhere): the next claim looks there. */
  noteNewRows(lanes: readonly string[] | undefined): void {
    this.#hints.note(lanes);
  }

  async runOnce(): Promise<RunResult> {
    const started = performance.now();
    let retried = 0;
    const now = this.#o.now?.().getTime() ?? Date.now();
    if (now >= this.#nextRetryCheck) {
      this.#nextRetryCheck = now + RETRY_CHECK_INTERVAL_MS;
      retried = await this.#runDueRetries();
    }
    const batch = await this.#runBatch();
    const processed = retried + batch.processed;
    if (processed > 0) this.#o.onBatch?.(processed, (performance.now() - started) / 1000);
    return { processed, more: batch.more };
  }

  async #runBatch(): Promise<RunResult> {
    const { db, stage, lanesPerClaim, batchSize } = this.#o;
    const hinted = this.#hints.take();
    // The test seam needs a transaction to run in, so it takes the general path.
    if (stage.runInOneStatement && !this.#o.beforeCommit) {
      let whole: OneStatementBatch | undefined;
      try {
        whole = await stage.runInOneStatement(db, lanesPerClaim, batchSize, hinted);
      } catch (error) {
        if (isTransientDatabaseError(error)) throw error;
        return this.#isolateFailures(error);
      }
      if (whole !== undefined) {
        runEffects(whole.effects, this.#o.log);
        return { processed: whole.processed, more: whole.lanes === lanesPerClaim || whole.fullLane };
      }
    }
    const effects: (() => void)[] = [];
    let lanes: number[] = [];
    let entries: LogEntry[] = [];
    try {
      await db.transaction().execute(async (tx) => {
        lanes = await claimLanes(tx, stage.name, lanesPerClaim, hinted);
        entries = await readLaneBatches(tx, stage.name, lanes, batchSize);
        if (entries.length > 0) await stage.handle(tx, entries, (effect) => effects.push(effect));
        await this.#o.beforeCommit?.(tx, entries);
      });
    } catch (error) {
      // A lost connection or a timeout says nothing about the messages: the batch was rolled
      // back, its cursors did not move, and the next run reads it again.
      if (isTransientDatabaseError(error)) throw error;
      return this.#isolateFailures(error);
    }
    runEffects(effects, this.#o.log);
    return { processed: entries.length, more: lanes.length === lanesPerClaim || hasFullLane(entries, batchSize) };
  }

  /** Redoes a failed batch one message at a time; the ones that still fail go to stage_retry. */
  async #isolateFailures(batchError: unknown): Promise<RunResult> {
    const { db, stage, lanesPerClaim, batchSize, log } = this.#o;
    log.warn('stage batch failed, retrying its messages one by one', { stage: stage.name, error: describeError(batchError) });
    const effects: (() => void)[] = [];
    let entries: LogEntry[] = [];
    let failed = 0;
    await db.transaction().execute(async (tx) => {
      const lanes = await claimLanes(tx, stage.name, lanesPerClaim);
      entries = await readLaneBatches(tx, stage.name, lanes, batchSize);
      for (const entry of entries) {
        const error = await this.#handleOne(tx, entry, effects);
        if (error === undefined) continue;
        failed += 1;
        await insertStageRetry(tx, stage.name, entry.id, error, stageRetryDelayMs(1), this.#o.now?.());
        log.warn('message failed its stage, will retry', { stage: stage.name, messageId: entry.id, error });
      }
    });
    runEffects(effects, log);
    return { processed: entries.length - failed, more: true };
  }

  async #runDueRetries(): Promise<number> {
    const { db, stage, batchSize, retryLimit, log } = this.#o;
    if (!(await hasDueStageRetries(db, stage.name, this.#o.now?.()))) return 0; // one cheap look before a transaction
    const effects: (() => void)[] = [];
    let succeeded = 0;
    await db.transaction().execute(async (tx) => {
      const due = await claimDueStageRetries(tx, stage.name, batchSize, this.#o.now?.());
      if (due.length === 0) return;
      const entries = new Map((await listLogEntries(tx, due.map((r) => r.message_id))).map((e) => [e.id, e]));
      for (const retry of due) {
        const entry = entries.get(retry.message_id);
        const error = entry ? await this.#handleOne(tx, entry, effects) : 'the message is no longer in the log';
        if (error === undefined) {
          succeeded += 1;
          await deleteStageRetry(tx, stage.name, retry.message_id);
        } else if (retry.attempts + 1 >= retryLimit || !entry) {
          await moveStageRetryToDeadLetter(tx, stage.name, retry.message_id, error);
          log.error('message dead-lettered by its stage', { stage: stage.name, messageId: retry.message_id, error });
        } else {
          await rescheduleStageRetry(tx, stage.name, retry.message_id, error, stageRetryDelayMs(retry.attempts + 1), this.#o.now?.());
        }
      }
    });
    runEffects(effects, log);
    return succeeded;
  }

  /** Handles one entry under a savepoint; returns the error text if it failed (and was rolled back). */
  async #handleOne(tx: Tx, entry: LogEntry, effects: (() => void)[]): Promise<string | undefined> {
    const mine: (() => void)[] = [];
    await createEntrySavepoint(tx);
    try {
      await this.#o.stage.handle(tx, [entry], (effect) => mine.push(effect));
      await releaseEntrySavepoint(tx);
      effects.push(...mine);
      return undefined;
    } catch (error) {
      if (isTransientDatabaseError(error)) throw error;
      await rollbackToEntrySavepoint(tx);
      return describeError(error);
    }
  }
}

function hasFullLane(entries: LogEntry[], batchSize: number): boolean {
  const perLane = new Map<number, number>();
  for (const entry of entries) perLane.set(entry.lane, (perLane.get(entry.lane) ?? 0) + 1);
  return [...perLane.values()].some((count) => count >= batchSize);
}

function runEffects(effects: (() => void)[], log: Logger): void {
  for (const effect of effects) {
    try {
      effect();
    } catch (error) {
      log.error('after-commit effect failed', { error });
    }
  }
}

