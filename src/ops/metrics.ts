// Prometheus metrics (prom-client). Two kinds:
//
//  - Events of this process: counters and histograms that hot paths bump (publishes, stage
//    batches, receives, acks, HTTP requests). Each bump is one inc() or observe() on a child
//    whose labels were resolved when the process started, so a message costs no allocation.
//  - State of the whole system, the same on every replica: gauges filled at scrape time from one
//    OpsSnapshot (cached, see ops-snapshot.ts). Aggregate them across replicas with max(), not sum().
//
// Cardinality stays bounded however many clients there are: no metric is labelled per client
// except the deepest 10 queues (config/tuning.ts metrics.topQueues); every queue
// counts in the totals and in the depth distribution switchyard_queues_by_depth{le}. Labels are
// otherwise stages, roles, states, reasons, operations and HTTP route patterns (never raw paths).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClassifyOutcome } from '../analytics/content-classification.ts';
import { SERIES_KINDS } from '../db/schema.ts';
import type { ScalingThresholds } from '../config.ts';
import type { Logger } from '../logger.ts';
import { QUEUE_DEPTH_BOUNDS, STAGE_ROWS_BEHIND_CAP, type OpsSnapshot, type OpsSnapshots } from './ops-snapshot.ts';
import { recommendWorkers } from './scaling.ts';

/** Seconds; from a fraction of a millisecond (an ack) to a minute (a long poll). */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const DEAD_LETTER_REASONS = ['max_receives', 'overflow'] as const;
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** What one stage's runner reports after a batch. */
export type StageBatchObserver = (processed: number, seconds: number) => void;

export interface MetricsOptions {
  snapshots: OpsSnapshots;
  scaling: ScalingThresholds;
  log: Logger;
}

// Process metrics (CPU, memory, event loop, GC) belong to the process, not to one Switchyard in it
// (tests run several): one registry for them, made on first use.
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #o: MetricsOptions;

  // Throughput.
  readonly published = this.#counter('switchyard_messages_published_total', 'Messages written to the log by this process (duplicates by dedup_id not counted)');
  readonly delivered = this.#counter('switchyard_messages_delivered_total', 'Deliveries handed to receivers (long poll or stream), redeliveries included');
  readonly acked = this.#counter('switchyard_messages_acked_total', 'Deliveries acked');
  readonly nacked = this.#counter('switchyard_messages_nacked_total', 'Deliveries nacked and made visible again');
  readonly expired = this.#counter('switchyard_messages_expired_total', 'Deliveries dropped at receive time because their ttl ran out');
  readonly #deadLettered = new Counter({
    name: 'switchyard_messages_dead_lettered_total', help: 'Deliveries moved to the dead letters', labelNames: ['reason'], registers: [this.registry],
  });
  readonly deadLettered = {
    max_receives: this.#deadLettered.labels('max_receives'),
    overflow: this.#deadLettered.labels('overflow'),
  } satisfies Record<DeadLetterReason, Counter.Internal>;
  // Labelled by client: only clients whose queue overflowed get a series, so it stays few.
  readonly #overflows = new Counter({
    name: 'switchyard_queue_overflows_total',
    help: 'Messages that met a full client queue, by client and what happened: refused (direct message, 429), dead_lettered (its copy), dropped_oldest (the oldest made room)',
    labelNames: ['client_id', 'action'], registers: [this.registry],
  });

  readonly #classifierMessages = new Counter({
    name: 'switchyard_classifier_messages_total',
    help: 'Messages of classified topics by outcome: classified, sampled_out (the stage was behind, see README), no_model (none trained yet)',
    labelNames: ['outcome'], registers: [this.registry],
  });
  readonly classifierOutcome = (outcome: ClassifyOutcome, count: number) => this.#classifierMessages.labels(outcome).inc(count);

  // Processing time.
  readonly ingestFlushSeconds = new Histogram({
    name: 'switchyard_ingest_flush_duration_seconds', help: 'Group-commit INSERTs into the log, from start to commit',
    buckets: DURATION_BUCKETS, registers: [this.registry],
  });
  readonly queueVacuumSeconds = new Histogram({
    name: 'switchyard_queue_vacuum_duration_seconds', help: 'Vacuums of switchyard.delivery run by this push process (its queue vacuum)',
    buckets: DURATION_BUCKETS, registers: [this.registry],
  });
  readonly #inboxSeconds = new Histogram({
    name: 'switchyard_inbox_operation_duration_seconds',
    help: 'Delivery queue statements: receive (one claim, without the long-poll wait), ack, nack, extend',
    labelNames: ['operation'], buckets: DURATION_BUCKETS, registers: [this.registry],
  });
  readonly receiveSeconds = this.#inboxSeconds.labels('receive');
  readonly ackSeconds = this.#inboxSeconds.labels('ack');
  readonly nackSeconds = this.#inboxSeconds.labels('nack');
  readonly extendSeconds = this.#inboxSeconds.labels('extend');
  readonly #stageBatchSeconds = new Histogram({
    name: 'switchyard_stage_batch_duration_seconds', help: 'Stage transactions that handled messages: claim, read, work, commit',
    labelNames: ['stage'], buckets: DURATION_BUCKETS, registers: [this.registry],
  });
  readonly #stageMessages = new Counter({
    name: 'switchyard_stage_messages_total', help: 'Log entries a stage handled in this process (routing: messages routed)',
    labelNames: ['stage'], registers: [this.registry],
  });
  readonly #httpRequests = new Counter({
    name: 'switchyard_http_requests_total', help: 'HTTP requests by route pattern and status class',
    labelNames: ['method', 'route', 'status_class'], registers: [this.registry],
  });
  readonly #httpSeconds = new Histogram({
    name: 'switchyard_http_request_duration_seconds',
    help: 'HTTP requests until the response starts (a long poll includes its wait; a stream counts until it opens)',
    labelNames: ['method', 'route', 'status_class'], buckets: DURATION_BUCKETS, registers: [this.registry],
  });

  // In-process state.
  readonly #stageWorkers = new Map<string, () => number>();
  #backpressure: (() => boolean) | undefined;
  #ingestQueue: { readonly queued: number; readonly oldestWaitMs: number } | undefined;
  #publishesInFlight: (() => number) | undefined;
  #snapshotFailed = false;

  constructor(options: MetricsOptions) {
    this.#o = options;
    this.#registerProcessGauges();
    this.#registerSnapshotGauges();
  }

  /** The observer a stage's runner calls after each batch that handled messages. */
  stageObserver(stage: string): StageBatchObserver {
    const seconds = this.#stageBatchSeconds.labels(stage);
    const messages = this.#stageMessages.labels(stage);
    return (processed, elapsed) => {
      seconds.observe(elapsed);
      messages.inc(processed);
    };
  }

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    const m = HTTP_METHODS.has(method) ? method : 'OTHER';
    const statusClass = `${Math.floor(status / 100)}xx`;
    this.#httpRequests.labels(m, route, statusClass).inc();
    this.#httpSeconds.labels(m, route, statusClass).observe(seconds);
  }

  /** Reports a stage's current number of workers in this process. */
  trackStageWorkers(stage: string, size: () => number): void {
    this.#stageWorkers.set(stage, size);
  }

  // Webhooks: labelled by client, only clients with an endpoint get series.
  readonly #webhookDeliveries = new Counter({
    name: 'switchyard_webhook_deliveries_total', help: 'Messages POSTed to webhook endpoints, by client and outcome (acked, failed, gone)',
    labelNames: ['client_id', 'outcome'], registers: [this.registry],
  });
  readonly #circuitTransitions = new Counter({
    name: 'switchyard_webhook_circuit_transitions_total', help: 'Circuit breaker transitions of webhook endpoints, by client and new state',
    labelNames: ['client_id', 'state'], registers: [this.registry],
  });
  #circuits: (() => { clientId: string; state: string }[]) | undefined;

  countWebhookOutcome(clientId: string, outcome: string, messages: number): void {
    this.#webhookDeliveries.labels(clientId, outcome).inc(messages);
  }

  countCircuitTransition(clientId: string, state: string): void {
    this.#circuitTransitions.labels(clientId, state).inc();
  }

  /** The circuit state of every endpoint this process delivers to. */
  trackCircuits(circuits: () => { clientId: string; state: string }[]): void {
    if (this.#circuits === undefined) {
      const gauge = new Gauge({
        name: 'switchyard_webhook_circuit_state', help: '1 for the state each webhook endpoint\'s circuit breaker is in (closed, open, half_open)',
        labelNames: ['client_id', 'state'], registers: [this.registry],
        collect: () => {
          gauge.reset();
          for (const c of this.#circuits?.() ?? []) for (const s of ['closed', 'open', 'half_open']) gauge.labels(c.clientId, s).set(c.state === s ? 1 : 0);
        },
      });
    }
    this.#circuits = circuits;
  }

  /** Counts overflows of full queues per client id. */
  countOverflows(action: 'refused' | 'dead_lettered' | 'dropped_oldest', perClient: Map<string, number> | string[]): void {
    const entries: [string, number][] = Array.isArray(perClient) ? perClient.map((id) => [id, 1]) : [...perClient];
    for (const [clientId, n] of entries) {
      this.#overflows.labels(clientId, action).inc(n);
      if (action !== 'refused') this.deadLettered.overflow.inc(n);
    }
  }

  /** Reports whether this router refuses publishes for stage lag. */
  trackBackpressure(active: () => boolean): void {
    this.#backpressure = active;
  }

  /** Publish requests this router works on now: past SWITCHYARD_INGEST_MAX_IN_FLIGHT they are refused. */
  trackPublishesInFlight(inFlight: () => number): void {
    this.#publishesInFlight = inFlight;
  }

  /** What waits for a group commit in this router: admission control refuses beyond its limits. */
  trackIngestQueue(queue: { readonly queued: number; readonly oldestWaitMs: number }): void {
    this.#ingestQueue = queue;
  }

  contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text: this Switchyard's metrics, then the process's. */
  async render(): Promise<string> {
    return (await this.registry.metrics()) + (await processMetrics().metrics());
  }

  #counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] });
  }

  #registerProcessGauges(): void {
    const workers = new Gauge({
      name: 'switchyard_stage_workers', help: 'Stage workers running in this process (between SWITCHYARD_STAGE_WORKERS and _MAX)',
      labelNames: ['stage'], registers: [this.registry],
      collect: () => {
        workers.reset();
        for (const [stage, size] of this.#stageWorkers) workers.labels(stage).set(size());
      },
    });
    const backpressure = new Gauge({
      name: 'switchyard_backpressure_active', help: 'Whether this router refuses publishes because a stage is too far behind (1) or not (0)',
      registers: [this.registry],
      collect: () => {
        backpressure.reset();
        if (this.#backpressure) backpressure.set(this.#backpressure() ? 1 : 0);
      },
    });
    const inFlight = new Gauge({
      name: 'switchyard_ingest_publishes_in_flight', help: 'Publish requests this router works on now (limit SWITCHYARD_INGEST_MAX_IN_FLIGHT)',
      registers: [this.registry],
      collect: () => {
        inFlight.reset();
        if (this.#publishesInFlight) inFlight.set(this.#publishesInFlight());
      },
    });
    const ingestQueued = new Gauge({
      name: 'switchyard_ingest_queued_messages', help: 'Messages waiting for a group commit in this router (limit SWITCHYARD_INGEST_MAX_QUEUED_MESSAGES)',
      registers: [this.registry],
      collect: () => {
        ingestQueued.reset();
        if (this.#ingestQueue) ingestQueued.set(this.#ingestQueue.queued);
      },
    });
    const ingestWait = new Gauge({
      name: 'switchyard_ingest_oldest_wait_seconds', help: 'How long the oldest message waiting for a group commit has waited (limit SWITCHYARD_INGEST_MAX_WAIT_MS)',
      registers: [this.registry],
      collect: () => {
        ingestWait.reset();
        if (this.#ingestQueue) ingestWait.set(this.#ingestQueue.oldestWaitMs / 1000);
      },
    });
  }

  /** Gauges of the whole system, filled from one snapshot per scrape. */
  #registerSnapshotGauges(): void {
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: OpsSnapshot) => void) => {
      const g: Gauge = new Gauge({
        name, help, labelNames, registers: [this.registry],
        collect: async () => {
          const snapshot = await this.#snapshot();
          if (!snapshot) return; // keep the last values; the failure is logged
          g.reset();
          fill(g, snapshot);
        },
      });
    };
    const age = (s: OpsSnapshot, at: Date | null) => (at ? Math.max(0, (s.takenAt.getTime() - at.getTime()) / 1000) : 0);
    // The snapshot holds at least the dashboard's rows; /metrics labels only its own top-N.
    const processing = (s: OpsSnapshot) => s.processing.slice(0, this.#o.snapshots.topQueues);

    gauge('switchyard_queues', 'Client queues holding messages', [], (g, s) => g.set(s.queues.queues));
    gauge('switchyard_queue_messages', 'Messages in all client queues, by state', ['state'], (g, s) => {
      g.labels('visible').set(s.queues.visible);
      g.labels('in_flight').set(s.queues.in_flight);
      g.labels('delayed').set(s.queues.delayed);
    });
    gauge('switchyard_queue_oldest_message_age_seconds', 'Age of the oldest message in any client queue', [],
      (g, s) => g.set(age(s, s.queues.oldest_enqueued_at)));
    gauge('switchyard_queue_stats_age_seconds', 'How long ago the queues were last counted (every 2 s, upkeep role)', [],
      (g, s) => g.set(age(s, s.queues.counted_at)));
    gauge('switchyard_queues_by_depth', 'Client queues holding at most le messages (cumulative, like histogram buckets)', ['le'], (g, s) => {
      QUEUE_DEPTH_BOUNDS.forEach((bound, i) => g.labels(String(bound)).set(s.queuesByDepth[i] ?? 0));
      g.labels('+Inf').set(s.queues.queues);
    });
    const top = 'one of the deepest 10 queues, labelled by client';
    gauge('switchyard_queue_top_depth', `Messages in ${top}`, ['client_id', 'client'],
      (g, s) => s.topQueues.forEach((q) => g.labels(q.client_id, q.client_name).set(q.depth)));
    gauge('switchyard_queue_top_in_flight', `Leased messages in ${top}`, ['client_id', 'client'],
      (g, s) => s.topQueues.forEach((q) => g.labels(q.client_id, q.client_name).set(q.in_flight)));
    gauge('switchyard_queue_top_oldest_age_seconds', `Age of the oldest message in ${top}`, ['client_id', 'client'],
      (g, s) => s.topQueues.forEach((q) => g.labels(q.client_id, q.client_name).set(age(s, q.oldest_enqueued_at))));
    gauge('switchyard_queue_top_dead_letters', `Dead letters of ${top}`, ['client_id', 'client'],
      (g, s) => s.topQueues.forEach((q) => g.labels(q.client_id, q.client_name).set(q.dead_letters)));
    gauge('switchyard_dead_letters', 'Dead letters of all client queues, by reason', ['reason'],
      (g, s) => DEAD_LETTER_REASONS.forEach((reason) => g.labels(reason).set(s.deadLetters.by_reason[reason] ?? 0)));

    const slowest = 'over the last 5 minutes of acks, for the 10 clients closest to their lease';
    gauge('switchyard_processing_time_seconds', `Consumer processing time (receive to ack), true percentiles ${slowest}`, ['client_id', 'client', 'quantile'],
      (g, s) => processing(s).forEach((p) => {
        g.labels(p.client_id, p.client_name, '0.5').set(p.p50_ms / 1000);
        g.labels(p.client_id, p.client_name, '0.95').set(p.p95_ms / 1000);
        g.labels(p.client_id, p.client_name, '0.99').set(p.p99_ms / 1000);
      }));
    gauge('switchyard_processing_visibility_seconds', `Average lease (visibility timeout) of the acked deliveries ${slowest}`, ['client_id', 'client'],
      (g, s) => processing(s).forEach((p) => g.labels(p.client_id, p.client_name).set(p.visibility_ms / 1000)));
    gauge('switchyard_processing_at_risk', `1 when processing p99 passes half the lease ${slowest}`, ['client_id', 'client'],
      (g, s) => processing(s).forEach((p) => g.labels(p.client_id, p.client_name).set(p.at_risk ? 1 : 0)));
    gauge('switchyard_processing_recommended_visibility_seconds', `About six times the average processing time ${slowest}`, ['client_id', 'client'],
      (g, s) => processing(s).forEach((p) => g.labels(p.client_id, p.client_name).set(p.recommended_visibility_seconds)));

    gauge('switchyard_stage_lag_seconds', 'Age of the oldest log entry the stage has not passed (the backpressure signal)', ['stage'],
      (g, s) => s.stages.forEach((st) => g.labels(st.stage).set(st.lagSeconds)));
    gauge('switchyard_stage_rows_behind', `Log entries the stage has not passed, counted up to ${STAGE_ROWS_BEHIND_CAP} per lane`, ['stage'],
      (g, s) => s.stages.forEach((st) => g.labels(st.stage).set(st.rowsBehind)));
    gauge('switchyard_stage_rows_behind_capped', 'Whether switchyard_stage_rows_behind stopped counting at the cap (1) or is exact (0)', ['stage'],
      (g, s) => s.stages.forEach((st) => g.labels(st.stage).set(st.rowsCapped ? 1 : 0)));
    gauge('switchyard_stage_retries', 'Messages waiting for a stage retry', ['stage'],
      (g, s) => s.stages.forEach((st) => g.labels(st.stage).set(st.retrying)));
    gauge('switchyard_stage_dead_letters', 'Messages a stage gave up on after its retries', ['stage'],
      (g, s) => s.stages.forEach((st) => g.labels(st.stage).set(st.deadLetters)));

    gauge('switchyard_anomalies_open', 'Anomalies open now, by series kind (count, bytes, dead_letter_rate, latency_p95)', ['kind'],
      (g, s) => SERIES_KINDS.forEach((kind) => g.labels(kind).set(s.openAnomalies.find((a) => a.kind === kind)?.open ?? 0)));

    gauge('switchyard_recommended_workers', 'Workers (processes) per role the backlog calls for (GET /v1/admin/scaling explains)', ['role'],
      (g, s) => recommendWorkers(s, this.#o.scaling).forEach((r) => g.labels(r.role).set(r.recommended)));
  }

  async #snapshot(): Promise<OpsSnapshot | undefined> {
    try {
      const snapshot = await this.#o.snapshots.current();
      this.#snapshotFailed = false;
      return snapshot;
    } catch (error) {
      if (!this.#snapshotFailed) this.#o.log.warn('metrics: could not read the operator numbers; serving the last ones', { error });
      this.#snapshotFailed = true;
      return undefined;
    }
  }
}
