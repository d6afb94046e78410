// The router's publish path: admission (backpressure, the in-flight gate), the Idempotency-Key,
// and the group commit into the log. Request/reply waits here too: one worker looks for the
// replies of every waiting request at once; the commit of a waited-for correlation id wakes it.
import { IdempotencyKeys, idempotencyLeaseSeconds } from '../idempotency/idempotency.service.ts';
import type { FullQueues } from '../inbox/full-queues.ts';
import { Backpressure } from '../messages/backpressure.ts';
import type { OpsSnapshots } from '../ops/ops-snapshot.ts';
import { createIngestCommit } from '../messages/ingest-flush.ts';
import { MessagesService } from '../messages/messages.service.ts';
import { savePublishSettings } from '../messages/publish-settings.repository.ts';
import { PublishGate } from '../messages/publish-gate.ts';
import { Publisher } from '../messages/publisher.ts';
import { ReplyWatch } from '../requests/reply-watch.ts';
import type { Access } from './access.ts';
import { queueDefaults, type Wiring } from './wiring.ts';

export type Router = Awaited<ReturnType<typeof wireRouter>>;

export async function wireRouter(w: Wiring, access: Access, fullQueues: FullQueues, snapshots: OpsSnapshots) {
  const { config, log, has, pools: { db, relaxedDb, reads }, signals, metrics, workers } = w;
  const replies = new ReplyWatch(relaxedDb, access.addresses, config.inbox.pollMs, log);
  signals.on('reply', (correlationIds) => replies.wake(correlationIds));
  const commit = createIngestCommit(config.ingest, {
    db, dedupWindowSeconds: config.delivery.dedupWindowSeconds, reads,
    onFlushed: (seconds, written) => {
      metrics.ingestFlushSeconds.observe(seconds);
      metrics.published.inc(written);
    },
    signal: (channel, keys) => signals.signal(channel, keys),
  });
  const backpressure = new Backpressure(snapshots, {
    fullQueues, onRefused: (clientIds) => metrics.countOverflows('refused', clientIds), lagSeconds: config.backpressure.lagSeconds, stages: config.backpressure.stages,
  });
  if (has('router')) {
    const { maxLength, overflow } = queueDefaults(config);
    await savePublishSettings(db, { dedupWindowSeconds: config.delivery.dedupWindowSeconds, queueMaxLength: maxLength, queueOverflow: overflow });
    workers.push(backpressure.createRefreshWorker(config.delivery.statsMs, log));
    metrics.trackBackpressure(() => backpressure.lagging !== undefined);
    metrics.trackIngestQueue(commit);
  }
  const messages = new MessagesService(access.addresses, access.schemas, backpressure, commit);
  let publish: { publisher: Publisher; gate: PublishGate } | undefined; // WebSocket publish frames need it where the router runs
  if (has('router')) {
    workers.push(replies.worker);
    const leaseSeconds = idempotencyLeaseSeconds(config.db.statementTimeoutMs);
    const idempotency = new IdempotencyKeys(db, config.idempotencyWindowSeconds, leaseSeconds, signals.origin);
    const gate = new PublishGate(config.ingest.maxInFlight);
    metrics.trackPublishesInFlight(() => gate.inFlight);
    publish = { publisher: new Publisher(messages, idempotency), gate };
  }
  return { messages, replies, publish };
}
