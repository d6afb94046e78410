import { sql } from 'kysely';
import { PREPARED, type Db } from '../db/database.ts';

/** A message as the router writes it; the database adds xid, lane, conversation and times. */
export interface NewMessage {
  id: string;
  sender_id: string | null;
  sender: string;
  to_address: string;
  type: string | null;
  payload: unknown;
  headers: Record<string, string> | null;
  priority: number;
  delay_seconds: number;
  deliver_at: string | null;
  ttl_seconds: number | null;
  group_id: string | null;
  dedup_id: string | null;
  correlation_id: string | null;
  reply_to: string | null;
}

/** Bytes a message occupies while it waits for a flush, roughly: its JSON as sent to the server. */
export function newMessageBytes(message: NewMessage): number {
  return JSON.stringify(message).length;
}

const INPUT = sql.raw(`r(id uuid, sender_id bigint, sender text, to_address text, type text, payload jsonb, headers jsonb,
  priority smallint, delay_seconds integer, deliver_at timestamptz, ttl_seconds integer, group_id text, dedup_id text,
  correlation_id text, reply_to text)`);

const INSERT_FROM_INPUT = sql.raw(`
  insert into switchyard.message (id, lane, sender_id, sender, to_address, conversation, type, payload, headers,
                                  priority, deliver_at, expires_at, group_id, dedup_id, correlation_id, reply_to)
  select r.id, switchyard.lane_of(c.conversation), r.sender_id, r.sender, r.to_address, c.conversation, r.type,
         r.payload, r.headers, r.priority,
         coalesce(r.deliver_at, case when r.delay_seconds > 0 then clock_timestamp() + make_interval(secs => r.delay_seconds) end),
         case when r.ttl_seconds is not null then clock_timestamp() + make_interval(secs => r.ttl_seconds) end,
         r.group_id, r.dedup_id, r.correlation_id, r.reply_to
  from input r
  cross join lateral (select switchyard.conversation_of(r.sender, r.to_address) as conversation) c`);

/**
 * Appends messages to the log in one statement and returns, per message, the id it ended up
 * with. The rows travel as one JSON document: a single parameter, parsed once by the server,
 * whatever the batch size. A message whose sender already published its dedup_id within the
 * window is not written: its id is the first one's.
 */
export async function insertMessages(db: Db, messages: NewMessage[], dedupWindowSeconds: number): Promise<string[]> {
  // Repeats inside the batch itself: keep the first of each (sender, dedup_id).
  const firstOf = new Map<string, string>();
  const ids = messages.map((m) => {
    if (m.dedup_id === null) return m.id;
    const key = `${m.sender}\u0000${m.dedup_id}`;
    const first = firstOf.get(key);
    if (first === undefined) firstOf.set(key, m.id);
    return first ?? m.id;
  });
  const unique = messages.filter((m, i) => ids[i] === m.id);
  const input = sql`input as (select * from json_to_recordset(${JSON.stringify(unique)}::json) as ${INPUT})`;

  if (firstOf.size === 0) {
    await sql`${PREPARED}with ${input} ${INSERT_FROM_INPUT}`.execute(db);
    return ids;
  }
  const result = await sql<{ requested: string; id: string | null }>`${PREPARED}
    with ${input},
    claimed as (
      insert into switchyard.dedup as d (scope, dedup_id, message_id, expires_at)
      select r.sender, r.dedup_id, r.id, clock_timestamp() + make_interval(secs => ${dedupWindowSeconds})
      from input r
      where r.dedup_id is not null
      on conflict (scope, dedup_id) do update
        set message_id = excluded.message_id, expires_at = excluded.expires_at
        where d.expires_at < clock_timestamp()
      returning d.message_id
    ),
    inserted as (
      ${INSERT_FROM_INPUT}
      where r.dedup_id is null or r.id in (select message_id from claimed)
    )
    select r.id as requested, coalesce(c.message_id, d.message_id) as id
    from input r
    left join claimed c on c.message_id = r.id
    left join switchyard.dedup d on d.scope = r.sender and d.dedup_id = r.dedup_id
    where r.dedup_id is not null`.execute(db);
  const resolved = new Map(result.rows.map((row) => [row.requested, row.id]));
  // A concurrent publisher committed the same key while this statement ran: read its id now.
  for (const [requested, id] of resolved) {
    if (id !== null) continue;
    const m = unique.find((u) => u.id === requested)!;
    const again = await sql<{ message_id: string }>`
      select message_id from switchyard.dedup where scope = ${m.sender} and dedup_id = ${m.dedup_id}`.execute(db);
    resolved.set(requested, again.rows[0]?.message_id ?? requested);
  }
  return ids.map((id) => resolved.get(id) ?? id);
}
