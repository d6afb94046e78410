// The stages: each reads the log through its own cursors, as a pool of workers that grows while
// its backlog lasts (SWITCHYARD_STAGE_WORKERS.._MAX). Woken by the 'log' signal, polling besides.
import { createAnalyticsStage } from '../analytics/analytics.stage.ts';
import { ContentClassification } from '../analytics/content-classification.ts';
import { createLabelPublisher } from '../analytics/label-publisher.ts';
import type { FullQueues } from '../inbox/full-queues.ts';
import { onConfigChange } from '../notifications/config-changes.ts';
import { createPersistenceStage } from '../persistence/persistence.stage.ts';
import { StageRunner, type Stage } from '../queue/stage-runner.ts';
import { StageWorkerPool } from '../queue/stage-worker-pool.ts';
import type { RoutingRules } from '../routing/routing-rules.ts';
import { createRoutingStage } from '../routing/routing.stage.ts';
import type { Wiring } from './wiring.ts';

export function wireStages({ config, log, has, pools, signals, metrics, workers }: Wiring, routingRules: RoutingRules, fullQueues: FullQueues): void {
  const stageWorkers: StageWorkerPool[] = [];
  const addStage = (stage: Stage, wakeDelayMs: number) => {
    const runner = new StageRunner({
      db: pools.stageDb, stage, log: log.child({ stage: stage.name }),
      batchSize: config.stages.batchSize, lanesPerClaim: config.stages.lanesPerClaim, retryLimit: config.stages.retryLimit,
      onBatch: metrics.stageObserver(stage.name), fullLaneCheckMs: config.stages.pollMs,
    });
    const pool = new StageWorkerPool({
      runner, minWorkers: config.stages.workers, maxWorkers: config.stages.maxWorkers, pollMs: config.stages.pollMs, wakeDelayMs, log,
    });
    metrics.trackStageWorkers(stage.name, () => pool.size);
    stageWorkers.push(pool);
  };
  if (has('routing')) {
    addStage(createRoutingStage({
      priorityAgingMs: config.delivery.priorityAgingMs,
      rules: routingRules,
      onDelivered: (clientIds) => signals.signal('delivery', clientIds),
      fullClients: () => fullQueues.clients(),
      onOverflow: (perClient) => metrics.countOverflows('dead_lettered', perClient),
    }), 0); // receivers wait on routing: it runs the moment it is woken
    // Where the router runs, its backpressure worker refreshes the full queues.
    if (!has('router')) workers.push(fullQueues.createRefreshWorker(config.delivery.statsMs, log));
  }
  if (has('persistence')) addStage(createPersistenceStage(), config.stages.batchWaitMs);
  if (has('analytics')) {
    // Labels that reach their topic's threshold go out as messages on topic:switchyard.labels.
    const labelPublisher = createLabelPublisher(pools.db, config.stages.pollMs, log, () => signals.signal('log'));
    workers.push(labelPublisher);
    const classification = new ContentClassification({ now: Date.now, onOutcome: metrics.classifierOutcome });
    onConfigChange(signals, { classifier: () => classification.invalidateTopics() });
    addStage(createAnalyticsStage({ classification, onLabelled: () => labelPublisher.wake() }), config.stages.batchWaitMs);
  }
  // The keys are the lanes the new rows are in, when the sender said (ingest-flush.ts).
  signals.on('log', (lanes) => stageWorkers.forEach((worker) => worker.wake(lanes)));
  workers.push(...stageWorkers);
}
