import { sql } from 'kysely';
import { PREPARED, type Tx } from '../db/database.ts';
import type { LogEntry } from '../queue/stage-cursor.repository.ts';

/** Past this many recipients in one batch, waking "everyone" is cheaper than naming them. */
export const MAX_NAMED_RECIPIENTS = 500;

/**
 * Fans a batch out into client delivery queues in one statement: one row per (subscribed client,
 * message). Returns the recipients' client ids, or undefined when there were more than
 * MAX_NAMED_RECIPIENTS. A row that exists already (a batch redone after a crash) is left alone.
 * sort_key = when it becomes visible, moved earlier by priority * agingMs: a priority-0 message
 * waits at most 9 * agingMs behind higher priorities (DESIGN principle 4). A deliver_at in the past
 * counts as the time of publish: taken as given it would jump ahead of every priority.
 * (greatest() skips nulls: no deliver_at is the time of publish too.)
 */
export async function insertDeliveries(tx: Tx, entries: LogEntry[], agingMs: number): Promise<string[] | undefined> {
  const result = await sql<{ client_id: string }>`${PREPARED}
    with m as (
      select *
      from unnest(${entries.map((e) => e.id)}::uuid[], ${entries.map((e) => e.to_address)}::text[],
                  ${entries.map((e) => e.priority)}::smallint[], ${entries.map((e) => e.deliver_at)}::timestamptz[],
                  ${entries.map((e) => e.created_at)}::timestamptz[], ${entries.map((e) => e.group_id)}::text[],
                  ${entries.map((e) => e.expires_at)}::timestamptz[])
           as m(id, to_address, priority, deliver_at, created_at, group_id, expires_at)
    ),
    inserted as (
      insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at)
      select s.client_id, m.id,
             greatest(m.deliver_at, m.created_at) - make_interval(secs => m.priority * ${agingMs / 1000}::float8),
             greatest(m.deliver_at, now()), m.priority, m.group_id, m.expires_at
      from m
      join switchyard.subscription s on s.address = m.to_address
      on conflict (client_id, message_id) do nothing
      returning client_id
    )
    select distinct client_id from inserted limit ${MAX_NAMED_RECIPIENTS + 1}`.execute(tx);
  const ids = result.rows.map((row) => row.client_id);
  return ids.length > MAX_NAMED_RECIPIENTS ? undefined : ids;
}
