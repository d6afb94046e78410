import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface ClaimedDelivery {
  id: string;
  receive_count: number;
  lease_seq: number | null;
  sender: string;
  to_address: string;
  type: string | null;
  payload: unknown;
  headers: Record<string, string> | null;
  priority: number;
  created_at: Date;
  group_id: string | null;
  correlation_id: string | null;
  reply_to: string | null;
}

export interface ClaimOptions {
  clientId: string;
  max: number;
  visibilitySeconds: number;
  /** For SSE: the stream that takes the lease, and the event number before the first claimed row. */
  lease?: { owner: string; seqBefore: number };
  /** Delete instead of leasing (SSE auto-ack: at most once). */
  autoAck?: boolean;
  /** Injected clock for tests; the database's now() otherwise. */
  now?: Date;
}

/**
 * Receives up to `max` visible deliveries of one client in one statement: one index scan of
 * (client_id, sort_key) claimed with SKIP LOCKED, so competing consumers never get the same row;
 * then either a lease (visible_at moves to now + visibility, receive_count + 1) or, for auto-ack,
 * deletion. Rows come back in claim order with their messages.
 */
export async function claimDeliveries(db: Db, o: ClaimOptions): Promise<ClaimedDelivery[]> {
  const now = o.now ?? null;
  const finish = o.autoAck
    ? sql`
      done as (
        delete from switchyard.delivery d
        using numbered n
        where d.client_id = n.client_id and d.message_id = n.message_id
        returning d.message_id, d.receive_count + 1 as receive_count, (${o.lease?.seqBefore ?? 0}::int + n.n)::int as lease_seq, n.sort_key
      )`
    : sql`
      done as (
        update switchyard.delivery d
        set visible_at = coalesce(${now}::timestamptz, now()) + make_interval(secs => ${o.visibilitySeconds}),
            receive_count = d.receive_count + 1,
            first_received_at = coalesce(d.first_received_at, coalesce(${now}::timestamptz, now())),
            last_received_at = coalesce(${now}::timestamptz, now()),
            lease_owner = ${o.lease?.owner ?? null},
            lease_seq = case when ${o.lease?.owner ?? null}::text is null then null else ${o.lease?.seqBefore ?? 0}::int + n.n end
        from numbered n
        where d.client_id = n.client_id and d.message_id = n.message_id
        returning d.message_id, d.receive_count, d.lease_seq, n.sort_key
      )`;
  const result = await sql<ClaimedDelivery>`
    with claimed as (
      select d.client_id, d.message_id, d.sort_key
      from switchyard.delivery d
      where d.client_id = ${o.clientId} and d.visible_at <= coalesce(${now}::timestamptz, now())
      order by d.sort_key
      limit ${o.max}
      for update skip locked
    ),
    numbered as (
      select c.*, row_number() over (order by c.sort_key, c.message_id)::int as n from claimed c
    ),
    ${finish}
    select done.message_id as id, done.receive_count, done.lease_seq, m.sender, m.to_address, m.type, m.payload,
           m.headers, m.priority, m.created_at, m.group_id, m.correlation_id, m.reply_to
    from done
    join switchyard.message m on m.id = done.message_id
    order by done.sort_key, done.message_id`.execute(db);
  return result.rows;
}

export interface Receipt {
  messageId: string;
  receiveCount: number;
}

/** Deletes the deliveries whose receipts are current; returns the message ids it deleted. */
export async function ackDeliveries(db: Db, clientId: string, receipts: Receipt[]): Promise<string[]> {
  if (receipts.length === 0) return [];
  const result = await sql<{ message_id: string }>`
    delete from switchyard.delivery d
    using unnest(${receipts.map((r) => r.messageId)}::uuid[], ${receipts.map((r) => r.receiveCount)}::int[])
          as r(message_id, receive_count)
    where d.client_id = ${clientId} and d.message_id = r.message_id and d.receive_count = r.receive_count
    returning d.message_id`.execute(db);
  return result.rows.map((row) => row.message_id);
}

/**
 * Resume after an SSE reconnect: deliveries the earlier stream sent after the last event the
 * client saw never arrived, so they become visible again at once (and that receive is not
 * counted). Events up to the last one seen stay leased: the client has them and will ack them.
 */
export async function releaseUnseenStreamLeases(db: Db, clientId: string, owner: string, lastSeenSeq: number): Promise<number> {
  const result = await sql`
    update switchyard.delivery
    set visible_at = now(), receive_count = greatest(receive_count - 1, 0), lease_owner = null, lease_seq = null
    where client_id = ${clientId} and lease_owner = ${owner} and lease_seq > ${lastSeenSeq} and visible_at > now()`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Of these clients, the ones with a delivery visible now: the inbox poller's fallback query. */
export async function listClientsWithVisibleDeliveries(db: Db, clientIds: string[]): Promise<string[]> {
  if (clientIds.length === 0) return [];
  const result = await sql<{ id: string }>`
    select c.id::text as id
    from unnest(${clientIds}::bigint[]) as c(id)
    where exists (select 1 from switchyard.delivery d where d.client_id = c.id and d.visible_at <= now())`.execute(db);
  return result.rows.map((row) => row.id);
}
