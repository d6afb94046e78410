// Queue statistics and the limits that use them. One process at a time recomputes
// switchyard.queue_stat (a transaction-scoped advisory lock elects it); everything else reads it.
import { sql } from 'kysely';
import { sqlNow } from '../db/clock.repository.ts';
import type { Db, Tx } from '../db/database.ts';
import { buryDeliveries } from '../db/dead-letter.repository.ts';

const STATS_LOCK = sql`hashtext('switchyard.queue_stat')`;

export interface QueueDefaults {
  maxLength: number;
  overflow: 'reject' | 'dead_letter';
}

/** Recomputes the statistics of every queue, unless another process is doing it right now. `now`: an injected clock for tests. */
export async function refreshQueueStats(tx: Tx, now?: Date): Promise<number | undefined> {
  const at = sqlNow(now);
  const locked = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${STATS_LOCK}) as ok`.execute(tx);
  if (!locked.rows[0]?.ok) return undefined;
  const result = await sql<{ n: number }>`
    with fresh as (
      select client_id,
             count(*) as depth,
             count(*) filter (where visible_at <= ${at}) as visible,
             count(*) filter (where visible_at > ${at} and receive_count > 0) as in_flight,
             count(*) filter (where visible_at > ${at} and receive_count = 0) as delayed,
             min(enqueued_at) as oldest_enqueued_at
      from switchyard.delivery
      group by client_id
    ),
    upserted as (
      insert into switchyard.queue_stat (client_id, depth, visible, in_flight, delayed, oldest_enqueued_at, updated_at)
      select client_id, depth, visible, in_flight, delayed, oldest_enqueued_at, ${at} from fresh
      on conflict (client_id) do update
        set depth = excluded.depth, visible = excluded.visible, in_flight = excluded.in_flight,
            delayed = excluded.delayed, oldest_enqueued_at = excluded.oldest_enqueued_at, updated_at = excluded.updated_at
      returning 1
    ),
    emptied as (
      delete from switchyard.queue_stat q where not exists (select 1 from fresh f where f.client_id = q.client_id)
    )
    select count(*)::int as n from upserted`.execute(tx);
  return result.rows[0]?.n ?? 0;
}

/**
 * Overflow policy dead_letter: moves the oldest visible deliveries of every queue over its
 * length limit to its dead letters (reason overflow). Returns how many it moved, per client id.
 * `now`: an injected clock for tests (which deliveries are visible, not leased).
 */
export async function deadLetterOverflow(tx: Tx, d: QueueDefaults, now?: Date): Promise<Map<string, number>> {
  const result = await sql<{ client_id: string; n: number }>`
    with over as (
      select q.client_id, q.depth - coalesce(p.max_length, ${d.maxLength}::int) as excess
      from switchyard.queue_stat q
      left join switchyard.queue_policy p on p.client_id = q.client_id
      where q.depth > coalesce(p.max_length, ${d.maxLength}::int)
        and coalesce(p.overflow, ${d.overflow}::text) = 'dead_letter'
    ),
    picked as (
      select x.client_id, x.message_id
      from over o
      cross join lateral (
        select d.client_id, d.message_id from switchyard.delivery d
        where d.client_id = o.client_id and d.visible_at <= ${sqlNow(now)}
        order by d.sort_key
        limit o.excess
        for update skip locked
      ) x
    ),
    moved as (
      delete from switchyard.delivery d using picked p
      where d.client_id = p.client_id and d.message_id = p.message_id
      returning d.*
    ),
    buried as (${buryDeliveries(sql`moved`, 'overflow', sql`'the queue was over its length limit'`, sql`client_id`)}),
    recount as (
      update switchyard.queue_stat q set depth = q.depth - m.n, visible = greatest(q.visible - m.n, 0)
      from (select client_id, count(*) as n from moved group by client_id) m
      where q.client_id = m.client_id
    )
    select client_id, count(*)::int as n from buried group by client_id`.execute(tx);
  return new Map(result.rows.map((row) => [row.client_id, row.n]));
}

export interface FullQueueRow {
  client_id: string;
  /** The direct (user:) addresses the client listens to: messages to them are refused while it is full. */
  direct_addresses: string[];
}

/**
 * Queues that are full and whose overflow policy is reject. A direct message to one is refused;
 * its copy of a topic or group message goes to its dead letters (routing.repository.ts).
 */
export async function listFullRejectingQueues(db: Db, d: QueueDefaults): Promise<FullQueueRow[]> {
  const result = await sql<FullQueueRow>`
    select q.client_id, coalesce(array_agg(s.address) filter (where s.address like 'user:%'), '{}') as direct_addresses
    from switchyard.queue_stat q
    left join switchyard.queue_policy p on p.client_id = q.client_id
    left join switchyard.subscription s on s.client_id = q.client_id
    where q.depth >= coalesce(p.max_length, ${d.maxLength}::int)
      and coalesce(p.overflow, ${d.overflow}::text) = 'reject'
    group by q.client_id`.execute(db);
  return result.rows;
}
