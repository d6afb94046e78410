// Delivery's background work: webhooks (the push role POSTs the queues of clients with an
// endpoint, each endpoint behind its own circuit breaker; transitions are published on
// topic:switchyard.circuits), the receivers' fallback poll, delivery statistics, the queue's own
// vacuum, queue recounts.
import { createDeliveryStatsFlushWorker, type DeliveryRecorder } from '../analytics/delivery-recorder.ts';
import { createInboxPoller } from '../inbox/inbox-poller.ts';
import { createQueueStatsWorker } from '../inbox/queue-stats.ts';
import { createQueueVacuumWorker } from '../inbox/queue-vacuum.ts';
import { insertMessages } from '../messages/messages.repository.ts';
import type { Waiters } from '../queue/waiters.ts';
import { AddressGuard } from '../webhooks/address-guard.ts';
import { circuitMessage } from '../webhooks/circuit-message.ts';
import { WebhookDispatcher } from '../webhooks/webhook-dispatcher.ts';
import { WebhookSender } from '../webhooks/webhook-sender.ts';
import { policyDefaults, queueDefaults, type Wiring } from './wiring.ts';

/** Returns the guard that checks webhook addresses (the routes check them too). */
export function wireDelivery(w: Wiring, waiters: Waiters, recorder: DeliveryRecorder): AddressGuard {
  const { config, log, has, pools: { db, relaxedDb }, signals, metrics, workers, teardown } = w;
  const addressGuard = new AddressGuard(config.webhooks.allowHosts);
  if (has('push')) {
    const sender = new WebhookSender(addressGuard);
    const webhooks = new WebhookDispatcher({
      db: relaxedDb, sender, pollMs: config.inbox.pollMs, log: log.child({ component: 'webhooks' }),
      breaker: { failures: config.webhooks.breakerFailures, cooldownMs: config.webhooks.breakerCooldownMs },
      policyDefaults: policyDefaults(config),
      onOutcome: (clientId, outcome, n) => metrics.countWebhookOutcome(clientId, outcome, n),
      onCircuit: async (event) => {
        metrics.countCircuitTransition(event.client_id, event.state);
        const { lanes } = await insertMessages(db, [circuitMessage(event)], config.delivery.dedupWindowSeconds);
        signals.signal('log', lanes.map(String));
      },
    });
    metrics.trackCircuits(() => webhooks.circuits());
    const webhookWorker = webhooks.createWorker();
    signals.on('delivery', () => webhookWorker.wake());
    workers.push(webhookWorker);
    // Unwound after the workers (pushed later) have stopped.
    teardown.push('webhooks', async () => {
      await webhooks.stop(config.shutdownTimeoutMs);
      sender.close();
    });
    workers.push(createInboxPoller(relaxedDb, waiters, config.inbox.pollMs, log));
    workers.push(createDeliveryStatsFlushWorker(recorder, relaxedDb, log, config.analyticsFlushMs));
    workers.push(createQueueVacuumWorker(relaxedDb, log.child({ component: 'queue-vacuum' }), (seconds) => metrics.queueVacuumSeconds.observe(seconds)));
  }
  if (has('upkeep')) {
    workers.push(createQueueStatsWorker(relaxedDb, queueDefaults(config), config.delivery.statsMs, log,
      (moved) => metrics.countOverflows('dropped_oldest', moved)));
  }
  return addressGuard;
}
