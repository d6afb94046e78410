import { sql } from 'kysely';
import { PREPARED, type Tx } from '../db/database.ts';
import type { LogEntry } from '../queue/stage-cursor.repository.ts';

/** Past this many recipients in one batch, waking "everyone" is cheaper than naming them. */
export const MAX_NAMED_RECIPIENTS = 500;

/**
 * Deliveries due later than this go to the pending store (switchyard.delivery_pending) instead of
 * the claimed table; the delay mover brings them in before they are due. 15 minutes: the longest
 * delay the queue took before there was a pending store, and many runs of the once-a-minute mover.
 */
export const DELAY_HORIZON_SECONDS = 900;

export interface Routed {
  /** Clients that got a delivery, or undefined when there were more than MAX_NAMED_RECIPIENTS. */
  recipients: string[] | undefined;
  /** Copies dead-lettered because the recipient's queue was full (reason overflow), per client. */
  overflowed: Map<string, number>;
}

/**
 * Fans a batch out into client delivery queues in one statement: one row per (subscribed client,
 * message). A row that exists already (a batch redone after a crash) is left alone.
 * sort_key = when it becomes visible, moved earlier by priority * agingMs: a priority-0 message
 * waits at most 9 * agingMs behind higher priorities (DESIGN principle 4). A deliver_at in the past
 * counts as the time of publish: taken as given it would jump ahead of every priority.
 * (greatest() skips nulls: no deliver_at is the time of publish too.)
 * A copy due beyond DELAY_HORIZON_SECONDS waits in the pending store. A copy of a topic or group
 * message for a client in `fullClients` (a full queue whose overflow policy is reject) goes to that
 * client's dead letters with reason overflow: one full queue never holds back the others.
 */
export async function insertDeliveries(tx: Tx, entries: LogEntry[], agingMs: number, fullClients: string[] = []): Promise<Routed> {
  const result = await sql<{ kind: 'delivered' | 'overflow'; client_id: string; n: number }>`${PREPARED}
    with m as (
      select *
      from unnest(${entries.map((e) => e.id)}::uuid[], ${entries.map((e) => e.to_address)}::text[],
                  ${entries.map((e) => e.priority)}::smallint[], ${entries.map((e) => e.deliver_at)}::timestamptz[],
                  ${entries.map((e) => e.created_at)}::timestamptz[], ${entries.map((e) => e.group_id)}::text[],
                  ${entries.map((e) => e.expires_at)}::timestamptz[])
           as m(id, to_address, priority, deliver_at, created_at, group_id, expires_at)
    ),
    r as (
      select s.client_id, m.id as message_id,
             greatest(m.deliver_at, m.created_at) - make_interval(secs => m.priority * ${agingMs / 1000}::float8) as sort_key,
             greatest(m.deliver_at, now()) as visible_at, m.priority, m.group_id, m.expires_at,
             s.client_id = any(${fullClients}::bigint[]) and m.to_address not like 'user:%' as overflow,
             m.deliver_at > now() + make_interval(secs => ${DELAY_HORIZON_SECONDS}) as pending
      from m
      join switchyard.subscription s on s.address = m.to_address
    ),
    inserted as (
      insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at)
      select client_id, message_id, sort_key, visible_at, priority, group_id, expires_at
      from r where not overflow and pending is not true
      on conflict (client_id, message_id) do nothing
      returning client_id
    ),
    postponed as (
      insert into switchyard.delivery_pending (client_id, message_id, due_at, sort_key, priority, group_id, expires_at)
      select client_id, message_id, visible_at, sort_key, priority, group_id, expires_at
      from r where not overflow and pending
      on conflict (client_id, message_id) do nothing
    ),
    overflowed as (
      insert into switchyard.dead_letter (client_id, message_id, reason, receive_count, last_error, enqueued_at, priority, group_id)
      select client_id, message_id, 'overflow', 0, 'the queue was full (overflow policy reject): this copy was not enqueued',
             now(), priority, group_id
      from r where overflow
      on conflict (client_id, message_id) do nothing
      returning client_id
    )
    (select 'delivered' as kind, client_id, 1 as n from (select distinct client_id from inserted limit ${MAX_NAMED_RECIPIENTS + 1}) d)
    union all
    (select 'overflow', client_id, count(*)::int from overflowed group by client_id)`.execute(tx);
  const delivered = result.rows.filter((row) => row.kind === 'delivered').map((row) => row.client_id);
  const overflowed = new Map(result.rows.filter((row) => row.kind === 'overflow').map((row) => [row.client_id, row.n]));
  return { recipients: delivered.length > MAX_NAMED_RECIPIENTS ? undefined : delivered, overflowed };
}
