// The one source of the numbers operators look at. /metrics, the scaling signal, the dashboard
// feed, the router's backpressure and the CLI all read the same snapshot, taken at most once per
// cacheMs however often they ask: a Prometheus server, an autoscaler, open dashboards and the
// backpressure worker together still cost one round of queries per interval, and they never
// disagree about a number. Concurrent callers share the round in flight. Everything comes from
// stats.repository.ts and stage_lag(), which read what is already counted elsewhere (queue_stat),
// never a hot table. Backpressure needs only the stages' lag (stageLag()): it takes it from the
// snapshot when one is fresh or being taken, and otherwise reads the lag alone, so a router nobody
// scrapes does not take the whole round every interval for one figure of it.
import { countOpenAnomaliesByKind } from '../analytics/anomaly.repository.ts';
import type { Db } from '../db/database.ts';
import { listStageLag } from '../queue/stage-lag.repository.ts';
import { listProcessingTimes, type ProcessingTimeRow } from './processing-time.repository.ts';
import {
  countQueuesByDepth, getDeadLetterTotals, getQueueTotals, listDeepestQueues, listStageFailureCounts, listTrafficMinutes,
  type DeadLetterTotals, type QueueRow, type QueueTotals, type StageFailureCounts, type TrafficMinute,
} from './stats.repository.ts';

/** Upper bounds of the queue depth distribution (switchyard_queues_by_depth{le}). */
export const QUEUE_DEPTH_BOUNDS = [10, 100, 1_000, 10_000, 100_000, 1_000_000];

/**
 * Rows behind a stage are counted up to this many per lane, for every reader alike. Counting is an
 * index walk of up to this many log entries per stage and lane: at most 3 stages x 16 lanes x 2,500
 * = 120,000 entries per snapshot, a few tens of milliseconds once per interval, and only when the
 * stages are behind. Past the cap the count says "at least" (rows_capped) and lag_seconds keeps
 * measuring how far behind a stage is, which is what backpressure and the scaling signal also use.
 * 2,500 was the /metrics default the scaling thresholds were tuned against.
 */
export const STAGE_ROWS_BEHIND_CAP = 2_500;
/** Rollup minutes read per snapshot: late rollups of a few minutes back still count (dashboard rates, CLI). */
export const TRAFFIC_MINUTES = 5;
/** Processing-time rows read at least: the dashboard shows this many whatever the metrics' top-N. */
export const PROCESSING_ROWS_MIN = 10;

export interface StageNumbers {
  stage: string;
  lagSeconds: number;
  /** Counted up to STAGE_ROWS_BEHIND_CAP per lane; capped says the count stopped there. */
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
  /** Per-minute totals over every address for the last TRAFFIC_MINUTES minutes, oldest first. */
  traffic: TrafficMinute[];
  /**
   * Consumer processing time of the clients closest to their lease, closest first: at most
   * max(topQueues, PROCESSING_ROWS_MIN) of them; each reader takes the first as many as it shows.
   */
  processing: ProcessingTimeRow[];
  /** Open anomalies per series kind (kinds without any are absent). */
  openAnomalies: { kind: string; open: number }[];
}

export interface OpsSnapshotOptions {
  cacheMs: number;
  topQueues: number;
  now?: () => number;
}

/** How far behind a stage is, in seconds: what backpressure reads (stageLag()). */
export interface StageLag {
  stage: string;
  lagSeconds: number;
}

/** A read that concurrent callers share while it runs, and whose answer is kept for cacheMs. */
class KeptRead<T> {
  readonly #read: () => Promise<T>;
  readonly #cacheMs: number;
  readonly #now: () => number;
  #last: { at: number; value: T } | undefined;
  #inFlight: Promise<T> | undefined;

  constructor(read: () => Promise<T>, cacheMs: number, now: () => number) {
    this.#read = read;
    this.#cacheMs = cacheMs;
    this.#now = now;
  }

  /** The kept answer while it is younger than cacheMs. */
  get fresh(): T | undefined {
    return this.#last && this.#now() - this.#last.at < this.#cacheMs ? this.#last.value : undefined;
  }

  /** The read running now, if any. */
  get running(): Promise<T> | undefined {
    return this.#inFlight;
  }

  /** The kept answer if fresh, else the running read, else a new one. */
  get(): Promise<T> {
    const fresh = this.fresh;
    if (fresh !== undefined) return Promise.resolve(fresh);
    this.#inFlight ??= this.#read().then(
      (value) => {
        this.#last = { at: this.#now(), value };
        this.#inFlight = undefined;
        return value;
      },
      (error: unknown) => {
        this.#inFlight = undefined;
        throw error;
      },
    );
    return this.#inFlight;
  }
}

export class OpsSnapshots {
  readonly #db: Db;
  readonly #o: OpsSnapshotOptions;
  readonly #snapshot: KeptRead<OpsSnapshot>;
  readonly #lag: KeptRead<StageLag[]>;

  constructor(db: Db, options: OpsSnapshotOptions) {
    this.#db = db;
    this.#o = options;
    const now = () => this.#now();
    this.#snapshot = new KeptRead(() => this.#take(), options.cacheMs, now);
    this.#lag = new KeptRead(async () => (await listStageLag(db)).map((row) => ({ stage: row.stage, lagSeconds: row.lag_seconds })), options.cacheMs, now);
  }

  /** How many of the deepest queues (and processing rows) /metrics labels by client. */
  get topQueues(): number {
    return this.#o.topQueues;
  }

  /** A snapshot no older than cacheMs. */
  current(): Promise<OpsSnapshot> {
    return this.#snapshot.get();
  }

  /**
   * Each stage's lag, no older than cacheMs: the snapshot's when it is fresh or being taken, else
   * one stage_lag read without the row counts (kept for cacheMs too). The lag is the same figure the
   * snapshot carries; what is skipped is the rest of the round (the deepest queues, processing
   * times, rows behind), which cost receive + ack about 7% of its throughput when the backpressure
   * worker took it every interval with a routing backlog (bench/RESULTS.md, seventh session).
   */
  async stageLag(): Promise<StageLag[]> {
    const snapshot = this.#snapshot.fresh ?? (await this.#snapshot.running);
    return snapshot ? snapshot.stages : this.#lag.get();
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
        lag: await listStageLag(tx, STAGE_ROWS_BEHIND_CAP),
        failures: await listStageFailureCounts(tx),
        traffic: await listTrafficMinutes(tx, TRAFFIC_MINUTES),
        processing: await listProcessingTimes(tx, Math.max(this.#o.topQueues, PROCESSING_ROWS_MIN)),
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
      traffic,
      processing,
      openAnomalies: anomalies,
    };
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}
