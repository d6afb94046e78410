import { sql, type RawBuilder } from 'kysely';
import { sqlNow } from '../db/clock.repository.ts';
import { PREPARED, type Db } from '../db/database.ts';
import { buryDeliveries } from '../db/dead-letter.repository.ts';

/** What happened to each row a receive looked at. */
export type ClaimOutcome = 'delivered' | 'expired' | 'dead_lettered';

export interface ClaimedRow {
  outcome: ClaimOutcome;
  id: string;
  receive_count: number;
  lease_seq: number | null;
  sender: string;
  to_address: string;
  type: string | null;
  payload: unknown;
  headers: Record<string, string> | null;
  priority: number;
  /** The message's created_at in epoch milliseconds (a number reads far cheaper than a timestamp). */
  created_ms: number;
  group_id: string | null;
  correlation_id: string | null;
  reply_to: string | null;
  /** The routing rule that brought this copy; null when the client listens to the address itself. */
  via: string | null;
}

export interface ClaimOptions {
  clientId: string;
  max: number;
  visibilitySeconds: number;
  /** The default of the client's max_receives policy. */
  maxReceives: number;
  /** For SSE: the stream that takes the leases, its event number so far, and its prefetch. */
  lease?: { owner: string; seqBefore: number; prefetch: number };
  /** Delete instead of leasing (SSE auto-ack: at most once). */
  autoAck?: boolean;
  /** Injected clock for tests; the database's now() otherwise. */
  now?: Date;
}


/**
 * One receive, in one statement: switchyard.claim_deliveries (migration 0022) holds the rules. It
 * locks up to `max` visible deliveries of the client in sort_key order (SKIP LOCKED, so competing
 * consumers never get the same row), skipping any that is not the head of its FIFO group; expired
 * ones are deleted, ones received max_receives times move to the dead letters, and the rest are
 * leased or, for auto-ack, deleted with a receipt. `max` shrinks to what a delivery rate's token
 * bucket and a stream's prefetch allow. Rows come back in claim order, with their messages.
 */
export async function claimDeliveries(db: Db, o: ClaimOptions): Promise<ClaimedRow[]> {
  const result = await sql<ClaimedRow>`${PREPARED}
    select * from switchyard.claim_deliveries(${o.clientId}::bigint, ${o.max}::int, ${o.visibilitySeconds}::int,
      ${o.maxReceives}::int, ${o.lease?.owner ?? null}::text, ${o.lease?.seqBefore ?? 0}::int, ${o.lease?.prefetch ?? 0}::int,
      ${o.autoAck ?? false}, ${o.now ?? null}::timestamptz)`.execute(db);
  return result.rows;
}

/**
 * The requests' options as eight parallel typed arrays, in the order both claim functions take
 * them: client, max, visibility, max receives, stream owner, event number so far, prefetch,
 * auto-ack.
 */
function requestColumns(requests: ClaimOptions[]): RawBuilder<unknown> {
  const column = <T>(pick: (o: ClaimOptions) => T) => requests.map(pick);
  return sql`${column((o) => o.clientId)}::bigint[], ${column((o) => o.max)}::int[], ${column((o) => o.visibilitySeconds)}::int[],
    ${column((o) => o.maxReceives)}::int[], ${column((o) => o.lease?.owner ?? null)}::text[],
    ${column((o) => o.lease?.seqBefore ?? 0)}::int[], ${column((o) => o.lease?.prefetch ?? 0)}::int[],
    ${column((o) => o.autoAck ?? false)}::boolean[]`;
}

/** Rows tagged with their request's position k (1-based), grouped per request, in request order. */
function byRequest(count: number, rows: (ClaimedRow & { k: number | string })[]): ClaimedRow[][] {
  const answers: ClaimedRow[][] = Array.from({ length: count }, () => []);
  for (const { k, ...row } of rows) answers[Number(k) - 1]!.push(row);
  return answers;
}

/**
 * Many receives in one statement, one call of switchyard.claim_deliveries per request, in order:
 * each call sees what the earlier ones leased, so one client may ask more than once. Answers each
 * request's rows, in request order.
 */
export async function claimDeliveriesMany(db: Db, requests: ClaimOptions[]): Promise<ClaimedRow[][]> {
  if (requests.length === 0) return [];
  const result = await sql<ClaimedRow & { k: string }>`${PREPARED}
    select r.k, c.*
    from unnest(${requestColumns(requests)}, ${requests.map((o) => o.now ?? null)}::timestamptz[])
         with ordinality as r(client_id, max, visibility_seconds, max_receives, owner, seq_before, prefetch, auto_ack, now, k)
    cross join lateral switchyard.claim_deliveries(r.client_id, r.max, r.visibility_seconds, r.max_receives, r.owner,
                                                   r.seq_before, r.prefetch, r.auto_ack, r.now) c
    order by r.k, c.outcome, c.place, c.id`.execute(db);
  return byRequest(requests.length, result.rows);
}

/**
 * Receives of different clients in one set-based statement: switchyard.claim_deliveries_for_clients
 * (migration 0023) applies claim_deliveries' rules to every request at once, which is what a
 * broadcast's thousands of woken streams need (a call per stream costs about 120 us of
 * PostgreSQL each). Each client may appear once, and all requests share the first one's clock.
 * Answers each request's rows, in request order.
 */
export async function claimDeliveriesForClients(db: Db, requests: ClaimOptions[]): Promise<ClaimedRow[][]> {
  if (requests.length === 0) return [];
  const result = await sql<ClaimedRow & { k: number }>`${PREPARED}
    select * from switchyard.claim_deliveries_for_clients(${requestColumns(requests)}, ${requests[0]!.now ?? null}::timestamptz)`.execute(db);
  return byRequest(requests.length, result.rows);
}

export interface Receipt {
  messageId: string;
  receiveCount: number;
}

const receiptsTable = (receipts: Receipt[]) => sql`
  unnest(${receipts.map((r) => r.messageId)}::uuid[], ${receipts.map((r) => r.receiveCount)}::int[]) as r(message_id, receive_count)`;

/**
 * Deletes the deliveries whose receipts are current and records a delivery receipt for each, in
 * one statement; returns the message ids it acked. The receipt keeps the consumer's processing
 * time (last receive to ack) and the lease it had (visibility, extensions included), the samples
 * of switchyard.processing_time. `now` is an injected clock for tests.
 */
export async function ackDeliveries(db: Db, clientId: string, receipts: Receipt[], now?: Date): Promise<string[]> {
  if (receipts.length === 0) return [];
  const at = sqlNow(now);
  const ms = (from: RawBuilder<unknown>, to: RawBuilder<unknown>) =>
    sql`least(2147483647, greatest(0, round(extract(epoch from ${to} - ${from}) * 1000)))::int`;
  const result = await sql<{ message_id: string }>`${PREPARED}
    with acked as (
      delete from switchyard.delivery d
      using ${receiptsTable(receipts)}
      where d.client_id = ${clientId} and d.message_id = r.message_id and d.receive_count = r.receive_count
      returning d.message_id, d.client_id, d.receive_count, d.first_received_at, d.last_received_at, d.visible_at
    ),
    recorded as (
      insert into switchyard.delivery_receipt (message_id, client_id, receive_count, first_received_at, acked_at,
                                               processing_ms, visibility_ms)
      select message_id, client_id, receive_count, first_received_at, ${at},
             ${ms(sql`last_received_at`, at)}, ${ms(sql`last_received_at`, sql`visible_at`)}
      from acked
    )
    select message_id from acked`.execute(db);
  return result.rows.map((row) => row.message_id);
}

/** Moves the lease deadline of current receipts; returns the message ids it moved. `now` is an injected clock for tests. */
export async function extendLeases(db: Db, clientId: string, receipts: Receipt[], visibilitySeconds: number, now?: Date): Promise<string[]> {
  if (receipts.length === 0) return [];
  const result = await sql<{ message_id: string }>`
    update switchyard.delivery d
    set visible_at = ${sqlNow(now)} + make_interval(secs => ${visibilitySeconds})
    from ${receiptsTable(receipts)}
    where d.client_id = ${clientId} and d.message_id = r.message_id and d.receive_count = r.receive_count
    returning d.message_id`.execute(db);
  return result.rows.map((row) => row.message_id);
}

export interface NackOptions {
  /** Explicit delay; without it, exponential backoff with jitter from the client's policy. */
  delaySeconds: number | undefined;
  reason: string | undefined;
  defaults: { maxReceives: number; backoffBaseMs: number; backoffCapMs: number };
  /** Injected clock for tests; the database's now() otherwise. */
  now?: Date;
}

/**
 * Makes current receipts visible again after a delay (backoff by default: base * 2^(receives-1),
 * capped, then drawn from its upper half). A delivery that has used up its receives goes to the
 * dead letters at once, with the reason as its last error.
 */
export async function nackDeliveries(db: Db, clientId: string, receipts: Receipt[], o: NackOptions): Promise<{ message_id: string; outcome: 'retry' | 'dead_lettered' }[]> {
  if (receipts.length === 0) return [];
  const result = await sql<{ message_id: string; outcome: 'retry' | 'dead_lettered' }>`
    with policy as (
      select coalesce(p.max_receives, ${o.defaults.maxReceives}::int) as max_receives,
             coalesce(p.backoff_base_ms, ${o.defaults.backoffBaseMs}::int) as base_ms,
             coalesce(p.backoff_cap_ms, ${o.defaults.backoffCapMs}::int) as cap_ms
      from (select 1) as one
      left join switchyard.queue_policy p on p.client_id = ${clientId}
    ),
    target as (
      select d.client_id, d.message_id, d.receive_count
      from switchyard.delivery d
      join ${receiptsTable(receipts)} on d.message_id = r.message_id and d.receive_count = r.receive_count
      where d.client_id = ${clientId}
      for update of d
    ),
    exhausted as (
      delete from switchyard.delivery d
      using target t, policy pol
      where d.client_id = t.client_id and d.message_id = t.message_id and t.receive_count >= pol.max_receives
      returning d.*
    ),
    buried as (${buryDeliveries(sql`exhausted`, 'max_receives', sql`${o.reason ?? null}`, sql`message_id`)}),
    retried as (
      update switchyard.delivery d
      set visible_at = ${sqlNow(o.now)} + make_interval(secs => coalesce(${o.delaySeconds ?? null}::float8,
            least(pol.cap_ms, pol.base_ms * power(2, greatest(t.receive_count - 1, 0))) * (0.5 + random() / 2) / 1000.0)),
          last_error = coalesce(${o.reason ?? null}, d.last_error),
          lease_owner = null,
          lease_seq = null
      from target t, policy pol
      where d.client_id = t.client_id and d.message_id = t.message_id and t.receive_count < pol.max_receives
      returning d.message_id
    )
    select message_id, 'retry' as outcome from retried
    union all
    select message_id, 'dead_lettered' from buried`.execute(db);
  return result.rows;
}

/**
 * Resume after an SSE reconnect: deliveries the earlier stream sent after the last event the
 * client saw never arrived, so they become visible again at once (and that receive is not
 * counted). Events up to the last one seen stay leased: the client has them and will ack them.
 * `now` is an injected clock for tests.
 */
export async function releaseUnseenStreamLeases(db: Db, clientId: string, owner: string, lastSeenSeq: number, now?: Date): Promise<number> {
  const at = sqlNow(now);
  const result = await sql`
    update switchyard.delivery
    set visible_at = ${at}, receive_count = greatest(receive_count - 1, 0), lease_owner = null, lease_seq = null
    where client_id = ${clientId} and lease_owner = ${owner} and lease_seq > ${lastSeenSeq} and visible_at > ${at}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * Every lease a stream holds becomes visible again now (the stream was closed as a slow consumer).
 * The receive count stays: the messages may have reached the client, so their old receipts must
 * not ack the next delivery. `now` is an injected clock for tests.
 */
export async function releaseStreamLeases(db: Db, clientId: string, owner: string, now?: Date): Promise<number> {
  const at = sqlNow(now);
  const result = await sql`
    update switchyard.delivery
    set visible_at = ${at}, lease_owner = null, lease_seq = null
    where client_id = ${clientId} and lease_owner = ${owner} and visible_at > ${at}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Of these clients, the ones with a delivery visible now (or at the injected `now`): the inbox poller's fallback query. */
export async function listClientsWithVisibleDeliveries(db: Db, clientIds: string[], now?: Date): Promise<string[]> {
  if (clientIds.length === 0) return [];
  const result = await sql<{ id: string }>`${PREPARED}
    select c.id::text as id
    from unnest(${clientIds}::bigint[]) as c(id)
    where exists (select 1 from switchyard.delivery d where d.client_id = c.id and d.visible_at <= ${sqlNow(now)})`.execute(db);
  return result.rows.map((row) => row.id);
}
