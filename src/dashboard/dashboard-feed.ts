// The dashboard's live numbers. Every open dashboard of a process follows one sampler, a worker
// that runs only while someone watches, so ten operators cost the database what one does; a
// reader that falls behind skips to the newest snapshot instead of queueing old ones.
//
// The numbers are the operators' snapshot (src/ops/ops-snapshot.ts), the same one /metrics, the
// scaling signal and backpressure read, taken at most once per metrics.cacheMs (config/tuning.ts); only
// the webhook circuits are the dashboard's own read. Throughput is the growth of the per-minute
// analytics rollups between snapshots, averaged over a short window.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { OpsSnapshot, OpsSnapshots } from '../ops/ops-snapshot.ts';
import type { TrafficMinute } from '../ops/stats.repository.ts';
import { Worker } from '../queue/worker.ts';
import { listWebhookCircuits } from '../webhooks/webhook.repository.ts';
import { CIRCUIT_ROWS, PROCESSING_CLIENTS, type DashboardSnapshot } from './dashboard.schemas.ts';

/** Rates are averaged over at least this long. */
export const RATE_WINDOW_MS_MIN = 10_000;
const KINDS = ['published', 'delivered', 'dead_lettered', 'expired'] as const;
type Counts = Record<(typeof KINDS)[number], number>;

export interface DashboardFeedOptions {
  intervalMs: number;
  log: Logger;
  stopTimeoutMs: number;
}

export class DashboardFeed {
  readonly #snapshots: OpsSnapshots;
  readonly #db: Db;
  readonly #o: DashboardFeedOptions;
  readonly #rateWindowMs: number;
  readonly #watchers = new Set<() => void>();
  #worker: Worker | undefined;
  #stopping: Promise<unknown> = Promise.resolve();
  #closed = false;
  #latest: DashboardSnapshot | undefined;
  /** The operators' snapshot #latest was made from: the same one again is not a new point. */
  #source: OpsSnapshot | undefined;
  #taking: Promise<DashboardSnapshot> | undefined;
  /** Running totals since the first snapshot, one entry per snapshot inside the rate window. */
  #totals: { at: number; counts: Counts }[] = [];
  #minutes = new Map<number, Counts>();

  constructor(snapshots: OpsSnapshots, db: Db, options: DashboardFeedOptions) {
    this.#snapshots = snapshots;
    this.#db = db;
    this.#o = options;
    this.#rateWindowMs = Math.max(RATE_WINDOW_MS_MIN, 3 * options.intervalMs);
  }

  /** The newest snapshot: made from the operators' snapshot, which is at most one interval old. */
  current(): Promise<DashboardSnapshot> {
    return this.sample();
  }

  /** Makes a snapshot (one at a time: a call while one is being made gets that one). */
  sample(): Promise<DashboardSnapshot> {
    this.#taking ??= this.#take().finally(() => (this.#taking = undefined));
    return this.#taking;
  }

  /** Snapshots, the newest at once and then one per interval, until `signal` aborts or the feed stops. */
  async *follow(signal: AbortSignal): AsyncGenerator<DashboardSnapshot> {
    if (this.#closed) return;
    const latest = this.#latest;
    let fresh = latest !== undefined && Date.now() - Date.parse(latest.at) < this.#o.intervalMs;
    let sent: DashboardSnapshot | undefined;
    let wake: (() => void) | undefined;
    const watcher = () => {
      fresh = true;
      wake?.();
    };
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    this.#watch(watcher);
    try {
      for (;;) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (fresh || signal.aborted || this.#closed) resolve();
        });
        wake = undefined;
        if (signal.aborted || this.#closed) return;
        fresh = false;
        if (this.#latest === sent) continue; // the sampler ran faster than the snapshots change
        sent = this.#latest!;
        yield sent;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#unwatch(watcher);
    }
  }

  /** How many are following (tests check that streams let go). */
  get followers(): number {
    return this.#watchers.size;
  }

  /** Ends every follow() and waits for the sampler to finish its run. */
  async stop(): Promise<void> {
    this.#closed = true;
    for (const watcher of this.#watchers) watcher();
    this.#stopSampler();
    await this.#stopping;
  }

  #watch(watcher: () => void): void {
    this.#watchers.add(watcher);
    if (this.#worker || this.#closed) return;
    // A fresh worker each time: the previous one may still be finishing its last run.
    this.#worker = new Worker({
      name: 'dashboard:feed',
      pollMs: this.#o.intervalMs,
      log: this.#o.log,
      runOnce: async () => {
        await this.sample();
        for (const notify of this.#watchers) notify();
        return { processed: 0, more: false };
      },
    });
    this.#worker.start();
  }

  #unwatch(watcher: () => void): void {
    this.#watchers.delete(watcher);
    if (this.#watchers.size === 0) this.#stopSampler();
  }

  #stopSampler(): void {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = undefined;
    this.#stopping = Promise.all([this.#stopping, worker.stop(this.#o.stopTimeoutMs)]);
  }

  async #take(): Promise<DashboardSnapshot> {
    const source = await this.#snapshots.current();
    if (source === this.#source && this.#latest) return this.#latest;
    const circuits = await listWebhookCircuits(this.#db, CIRCUIT_ROWS);
    const at = source.takenAt.getTime();
    const { queues: totals, deadLetters } = source;
    const oldest = totals.oldest_enqueued_at?.getTime();
    const snapshot: DashboardSnapshot = {
      at: new Date(at).toISOString(),
      queues: {
        queues: totals.queues,
        depth: totals.depth,
        visible: totals.visible,
        in_flight: totals.in_flight,
        delayed: totals.delayed,
        oldest_age_seconds: oldest === undefined ? null : Math.max(0, (at - oldest) / 1000),
        counted_at: totals.counted_at?.toISOString() ?? null,
      },
      throughput: this.#throughput(at, source.traffic),
      stages: source.stages.map((row) => ({
        stage: row.stage,
        lag_seconds: row.lagSeconds,
        rows_behind: row.rowsBehind,
        rows_capped: row.rowsCapped,
      })),
      dead_letters: { clients: deadLetters.client_dead_letters, by_reason: deadLetters.by_reason, stages: deadLetters.stage_dead_letters },
      processing: source.processing.slice(0, PROCESSING_CLIENTS).map(({ avg_ms: _avg, ...row }) => row),
      circuits: circuits.map((row) => ({ ...row, circuit_changed_at: row.circuit_changed_at?.toISOString() ?? null })),
    };
    this.#latest = snapshot;
    this.#source = source;
    return snapshot;
  }

  /**
   * Per-second rates from how much the rollup minutes grew since the last snapshot. After a gap
   * longer than the window (nobody watched) the totals start again: growth across the gap is not
   * a rate anyone wants to see.
   */
  #throughput(at: number, minutes: TrafficMinute[]): DashboardSnapshot['throughput'] {
    const last = this.#totals.at(-1);
    const restart = last === undefined || at - last.at > this.#rateWindowMs;
    const counts: Counts = { published: 0, delivered: 0, dead_lettered: 0, expired: 0, ...last?.counts };
    if (!restart) {
      for (const row of minutes) {
        const before = this.#minutes.get(row.minute.getTime());
        for (const kind of KINDS) counts[kind] += row[kind] - (before?.[kind] ?? 0);
      }
    }
    this.#minutes = new Map(minutes.map((row) => [row.minute.getTime(), row]));
    this.#totals = [...(restart ? [] : this.#totals), { at, counts }].filter((entry) => at - entry.at <= this.#rateWindowMs);
    const first = this.#totals[0]!;
    const seconds = (at - first.at) / 1000;
    const rate = (kind: (typeof KINDS)[number]) => (seconds > 0 ? Math.max(0, (counts[kind] - first.counts[kind]) / seconds) : null);
    return {
      published_per_second: rate('published'),
      delivered_per_second: rate('delivered'),
      dead_lettered_per_second: rate('dead_lettered'),
      expired_per_second: rate('expired'),
      window_seconds: seconds,
    };
  }
}
