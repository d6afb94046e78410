import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/**
 * Moves up to `batch` pending deliveries due within `horizonSeconds` of `now` into the claimed
 * table, oldest due first, in one statement (SKIP LOCKED, so two movers never move a row twice).
 * They keep their due time as visible_at: moved early, they still become visible on time.
 * Returns the client ids of the rows moved (one per row).
 */
export async function movePendingDeliveries(db: Db, horizonSeconds: number, batch: number, now?: Date): Promise<string[]> {
  const result = await sql<{ client_id: string }>`
    with picked as (
      select client_id, message_id from switchyard.delivery_pending
      where due_at <= coalesce(${now ?? null}::timestamptz, now()) + make_interval(secs => ${horizonSeconds})
      order by due_at
      limit ${batch}
      for update skip locked
    ),
    moved as (
      delete from switchyard.delivery_pending p using picked k
      where p.client_id = k.client_id and p.message_id = k.message_id
      returning p.*
    )
    insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, enqueued_at, via)
    select client_id, message_id, sort_key, due_at, priority, group_id, expires_at, enqueued_at, via from moved
    on conflict (client_id, message_id) do nothing
    returning client_id`.execute(db);
  return result.rows.map((row) => row.client_id);
}
