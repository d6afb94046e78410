// One snapshot of the numbers operators look at, shared by /metrics, the scaling signal and the
// CLI, and taken at most once per cacheMs however often they ask: a Prometheus server, an
// autoscaler and a dashboard scraping every second still cost one round of queries per interval.
// Concurrent callers share the round in flight. Everything comes from stats.repository.ts and
// stage_lag(), which read what is already counted elsewhere (queue_stat), never a hot table.
import { countOpenAnomaliesByKind } from '../analytics/anomaly.repository.ts';
import type { Db } from '../db/database.ts';
import { listStageLag } from '../queue/stage-lag.repository.ts';
import { listProcessingTimes, type ProcessingTimeRow } from './processing-time.repository.ts';
import {
  countQueuesByDepth, getDeadLetterTotals, getQueueTotals, listDeepestQueues, listStageFailureCounts, listTrafficMinutes,
  type DeadLetterTotals, type QueueRow, type QueueTotals, type StageFailureCounts,
} from './stats.repository.ts';

/** Upper bounds of the queue depth distribution (switchyard_queues_by_depth{le}). */
export const QUEUE_DEPTH_BOUNDS = [10, 100, 1_000, 10_000, 100_000, 1_000_000];

export interface StageNumbers {
  stage: string;
  lagSeconds: number;
  /** Counted up to rowsBehindCap per lane; capped says the count stopped there. */
  rowsBehind: number;
  rowsCapped: boolean;
  retrying: number;
  deadLetters: number;
}

export interface OpsSnapshot {
  takenAt: Date;
  queues: QueueTotals;
  /** The deepest queues, at most topQueues of them. */
  topQueues: QueueRow[];
  /** Queues holding at most QUEUE_DEPTH_BOUNDS[i] messages, cumulative. */
  queuesByDepth: number[];
  deadLetters: DeadLetterTotals;
  stages: StageNumbers[];
  /** Messages published per second over the last complete minute (analytics rollups). */
  publishedPerSecond: number;
  /** Consumer processing time of the clients closest to their lease, at most topQueues of them. */
  processing: ProcessingTimeRow[];
  /** Open anomalies per series kind (kinds without any are absent). */
  openAnomalies: { kind: string; open: number }[];
}

export interface OpsSnapshotOptions {
  cacheMs: number;
  topQueues: number;
  rowsBehindCap: number;
  now?: () => number;
}

export class OpsSnapshots {
  readonly #db: Db;
  readonly #o: OpsSnapshotOptions;
  #last: { at: number; snapshot: OpsSnapshot } | undefined;
  #inFlight: Promise<OpsSnapshot> | undefined;

  constructor(db: Db, options: OpsSnapshotOptions) {
    this.#db = db;
    this.#o = options;
  }

  /** A snapshot no older than cacheMs. */
  current(): Promise<OpsSnapshot> {
    const now = this.#now();
    if (this.#last && now - this.#last.at < this.#o.cacheMs) return Promise.resolve(this.#last.snapshot);
    this.#inFlight ??= this.#take().then(
      (snapshot) => {
        this.#last = { at: this.#now(), snapshot };
        this.#inFlight = undefined;
        return snapshot;
      },
      (error: unknown) => {
        this.#inFlight = undefined;
        throw error;
      },
    );
    return this.#inFlight;
  }

  async #take(): Promise<OpsSnapshot> {
    // One connection, one read-only repeatable-read transaction: the numbers agree with each other,
    // and a scrape never takes more than one slot of a pool the stages and receivers need.
    const { queues, topQueues, byDepth, deadLetters, lag, failures, traffic, processing, anomalies } = await this.#db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (tx) => ({
        queues: await getQueueTotals(tx),
        topQueues: this.#o.topQueues > 0 ? await listDeepestQueues(tx, this.#o.topQueues) : [],
        byDepth: await countQueuesByDepth(tx, QUEUE_DEPTH_BOUNDS),
        deadLetters: await getDeadLetterTotals(tx),
        lag: await listStageLag(tx, this.#o.rowsBehindCap),
        failures: await listStageFailureCounts(tx),
        traffic: await listTrafficMinutes(tx, 2),
        processing: this.#o.topQueues > 0 ? await listProcessingTimes(tx, this.#o.topQueues) : [],
        anomalies: await countOpenAnomaliesByKind(tx),
      }));
    const failuresByStage = new Map<string, StageFailureCounts>(failures.map((f) => [f.stage, f]));
    const takenAt = new Date(this.#now());
    const lastMinute = Math.floor(takenAt.getTime() / 60_000) * 60_000 - 60_000;
    const published = traffic.find((m) => m.minute.getTime() === lastMinute)?.published ?? 0;
    return {
      takenAt,
      queues,
      topQueues,
      queuesByDepth: byDepth.le,
      deadLetters,
      stages: lag.map((row) => ({
        stage: row.stage,
        lagSeconds: row.lag_seconds,
        rowsBehind: Number(row.rows_behind),
        rowsCapped: row.rows_capped,
        retrying: failuresByStage.get(row.stage)?.retrying ?? 0,
        deadLetters: failuresByStage.get(row.stage)?.dead_letters ?? 0,
      })),
      publishedPerSecond: published / 60,
      processing,
      openAnomalies: anomalies,
    };
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}
