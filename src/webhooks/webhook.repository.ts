import { sql } from 'kysely';
import { sqlNow } from '../db/clock.repository.ts';
import type { Db } from '../db/database.ts';

export const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
export type CircuitStateName = (typeof CIRCUIT_STATES)[number];

export interface WebhookEndpointRow {
  client_id: string;
  client_name: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  batch_size: number;
  concurrency: number;
  timeout_ms: number;
  disabled_at: Date | null;
  disabled_reason: string | null;
  circuit_state: CircuitStateName;
  circuit_changed_at: Date | null;
  last_error: string | null;
}

export interface WebhookEndpointInput {
  url: string;
  batch_size: number;
  concurrency: number;
  timeout_ms: number;
}

const COLUMNS = sql`w.client_id::text, c.name as client_name, w.url, w.secret, w.previous_secret, w.previous_secret_until,
  w.batch_size, w.concurrency, w.timeout_ms, w.disabled_at, w.disabled_reason, w.circuit_state, w.circuit_changed_at, w.last_error`;

/** Creates or replaces the client's endpoint. A new endpoint gets `secret`; a replaced one keeps its own and is enabled again. */
export async function upsertWebhookEndpoint(db: Db, clientId: string, input: WebhookEndpointInput, secret: string): Promise<{ created: boolean }> {
  const result = await sql<{ created: boolean }>`
    insert into switchyard.webhook_endpoint as w (client_id, url, secret, batch_size, concurrency, timeout_ms)
    values (${clientId}, ${input.url}, ${secret}, ${input.batch_size}, ${input.concurrency}, ${input.timeout_ms})
    on conflict (client_id) do update
      set url = excluded.url, batch_size = excluded.batch_size, concurrency = excluded.concurrency,
          timeout_ms = excluded.timeout_ms, disabled_at = null, disabled_reason = null, updated_at = now()
    returning (xmax = 0) as created`.execute(db);
  return result.rows[0]!;
}

export async function findWebhookEndpoint(db: Db, clientId: string): Promise<WebhookEndpointRow | undefined> {
  const result = await sql<WebhookEndpointRow>`
    select ${COLUMNS} from switchyard.webhook_endpoint w join switchyard.client c on c.id = w.client_id
    where w.client_id = ${clientId}`.execute(db);
  return result.rows[0];
}

export async function deleteWebhookEndpoint(db: Db, clientId: string): Promise<boolean> {
  const result = await sql`delete from switchyard.webhook_endpoint where client_id = ${clientId}`.execute(db);
  return Number(result.numAffectedRows ?? 0) > 0;
}

/** Replaces the secret; the old one keeps signing until `overlapSeconds` from now. */
export async function rotateWebhookSecret(db: Db, clientId: string, secret: string, overlapSeconds: number): Promise<boolean> {
  const result = await sql`
    update switchyard.webhook_endpoint
    set previous_secret = secret, previous_secret_until = now() + make_interval(secs => ${overlapSeconds}),
        secret = ${secret}, updated_at = now()
    where client_id = ${clientId}`.execute(db);
  return Number(result.numAffectedRows ?? 0) > 0;
}

/** Enabled endpoints of clients that are not revoked. */
export async function listActiveWebhookEndpoints(db: Db): Promise<WebhookEndpointRow[]> {
  const result = await sql<WebhookEndpointRow>`
    select ${COLUMNS} from switchyard.webhook_endpoint w join switchyard.client c on c.id = w.client_id
    where w.disabled_at is null and c.revoked_at is null
    order by w.client_id`.execute(db);
  return result.rows;
}

export async function disableWebhookEndpoint(db: Db, clientId: string, reason: string): Promise<void> {
  await sql`
    update switchyard.webhook_endpoint set disabled_at = now(), disabled_reason = ${reason}, updated_at = now()
    where client_id = ${clientId} and disabled_at is null`.execute(db);
}

export async function recordCircuitState(db: Db, clientId: string, state: CircuitStateName, lastError: string | null): Promise<void> {
  await sql`
    update switchyard.webhook_endpoint
    set circuit_state = ${state}, circuit_changed_at = now(), last_error = coalesce(${lastError}, last_error)
    where client_id = ${clientId}`.execute(db);
}

/** Whether the client has a delivery visible now (or at the injected `now`): a half-open probe is only worth a lease when one waits. */
export async function hasVisibleDelivery(db: Db, clientId: string, now?: Date): Promise<boolean> {
  const result = await sql<{ found: boolean }>`
    select exists (select 1 from switchyard.delivery where client_id = ${clientId} and visible_at <= ${sqlNow(now)}) as found`.execute(db);
  return result.rows[0]?.found ?? false;
}

export interface CircuitRow {
  client_id: string;
  client_name: string;
  url: string;
  enabled: boolean;
  circuit_state: CircuitStateName;
  circuit_changed_at: Date | null;
  last_error: string | null;
}

/** Webhook endpoints for operators, the ones not closed first, at most `limit`. */
export async function listWebhookCircuits(db: Db, limit: number): Promise<CircuitRow[]> {
  const result = await sql<CircuitRow>`
    select client_id::text, client_name, url, enabled, circuit_state, circuit_changed_at, last_error
    from switchyard.webhook_endpoints
    order by (circuit_state = 'closed' and enabled), circuit_changed_at desc nulls last, client_id
    limit ${limit}`.execute(db);
  return result.rows;
}
