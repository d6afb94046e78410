// Repository-level helpers for delivery-queue tests: clients, messages routed into their queues,
// and receives with an injected clock.
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';
import { claimDeliveries, type ClaimOptions } from '../../src/inbox/inbox.repository.ts';
import { createLogger } from '../../src/logger.ts';
import { uuidv7 } from '../../src/messages/message-id.ts';
import { insertMessages, type NewMessage } from '../../src/messages/messages.repository.ts';
import { StageRunner } from '../../src/queue/stage-runner.ts';
import { createRoutingStage } from '../../src/routing/routing.stage.ts';

export const AGING_MS = 1_000;

/** A client listening to `topic:<name>`; returns its id. */
export async function createQueueClient(db: Db, name: string): Promise<string> {
  const row = await sql<{ id: string }>`
    insert into switchyard.client (name, token_hash) values (${name}, sha256(${name}::bytea)) returning id`.execute(db);
  const id = row.rows[0]!.id;
  await sql`insert into switchyard.subscription (address, client_id) values (${`topic:${name}`}, ${id}), (${`user:${name}`}, ${id})`.execute(db);
  return id;
}

export function newMessage(to: string, overrides: Partial<NewMessage> = {}): NewMessage {
  return {
    id: uuidv7(), sender_id: null, sender: 'user:tester', to_address: to, type: null, payload: {}, headers: null,
    priority: 0, delay_seconds: 0, deliver_at: null, ttl_seconds: null, group_id: null, dedup_id: null,
    correlation_id: null, reply_to: null, ...overrides,
  };
}

/** Publishes the messages and routes them into the queues; returns their ids. */
export async function publishAndRoute(db: Db, messages: NewMessage[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < messages.length; i += 1000) ids.push(...(await insertMessages(db, messages.slice(i, i + 1000), 300)).ids);
  await route(db);
  return ids;
}

export async function route(db: Db): Promise<void> {
  const runner = new StageRunner({
    db, log: createLogger('silent'), batchSize: 1000, lanesPerClaim: 16, retryLimit: 3,
    stage: createRoutingStage({ priorityAgingMs: AGING_MS, onDelivered: () => undefined }),
  });
  for (;;) {
    const result = await runner.runOnce();
    if (result.processed === 0 && !result.more) return;
  }
}

export const at = (offsetMs: number) => new Date(Date.now() + offsetMs);

/** Receives with an injected clock; returns the delivered rows and what else happened. */
export async function receive(db: Db, clientId: string, o: Partial<ClaimOptions> = {}) {
  const rows = await claimDeliveries(db, { clientId, max: 10, visibilitySeconds: 30, maxReceives: 10, ...o });
  return {
    delivered: rows.filter((r) => r.outcome === 'delivered'),
    expired: rows.filter((r) => r.outcome === 'expired').map((r) => r.id),
    deadLettered: rows.filter((r) => r.outcome === 'dead_lettered').map((r) => r.id),
  };
}

export const receipt = (row: { id: string; receive_count: number }) => ({ messageId: row.id, receiveCount: row.receive_count });
