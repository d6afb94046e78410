import { sql } from 'kysely';
import { PREPARED, type Tx } from '../db/database.ts';
import { buryDeliveries } from '../db/dead-letter.repository.ts';
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
 * What content routing adds to a batch (routing.stage.ts works it out): more addresses whose
 * unfiltered subscribers receive a message, and recipients picked one by one (filtered
 * subscriptions that matched). `via` names the rule that brought the copy, null for the
 * message's own address.
 */
export interface ContentRoutes {
  /** The message's index in the batch, an address, the rule. */
  addresses: { entry: number; address: string; via: string }[];
  recipients: { entry: number; clientId: string; via: string | null }[];
}

/**
 * Fans a batch out into client delivery queues in one statement: one row per (recipient, message).
 * A row that exists already (a batch redone after a crash) is left alone.
 * sort_key = when it becomes visible, moved earlier by priority * agingMs: a priority-0 message
 * waits at most 9 * agingMs behind higher priorities (docs/conventions.md, Repositories). A deliver_at in the past
 * counts as the time of publish: taken as given it would jump ahead of every priority.
 * (greatest() skips nulls: no deliver_at is the time of publish too.)
 * A copy due beyond DELAY_HORIZON_SECONDS waits in the pending store. A copy of a topic or group
 * message for a client in `fullClients` (a full queue whose overflow policy is reject) goes to that
 * client's dead letters with reason overflow: one full queue never holds back the others.
 *
 * Without content routes the recipients are the plain join (the fast path). With them, every
 * candidate recipient of a message is collected and one row per (client, message) is kept: the
 * message's own subscribers first (via null), then the rule first by name, so a recipient gets a
 * message once however many rules bring it. Filtered subscriptions are never joined here: the
 * stage has chosen their rows.
 */
export async function insertDeliveries(
  tx: Tx, entries: LogEntry[], agingMs: number, routes?: ContentRoutes, fullClients: string[] = [],
): Promise<Routed> {
  const messages = sql`
      select *
      from unnest(${entries.map((e) => e.id)}::uuid[], ${entries.map((e) => e.to_address)}::text[],
                  ${entries.map((e) => e.priority)}::smallint[], ${entries.map((e) => e.deliver_at)}::timestamptz[],
                  ${entries.map((e) => e.created_at)}::timestamptz[], ${entries.map((e) => e.group_id)}::text[],
                  ${entries.map((e) => e.expires_at)}::timestamptz[])
           with ordinality as m(id, to_address, priority, deliver_at, created_at, group_id, expires_at, entry)`;
  const copy = (clientId: ReturnType<typeof sql>) => sql`
             greatest(m.deliver_at, m.created_at) - make_interval(secs => m.priority * ${agingMs / 1000}::float8) as sort_key,
             greatest(m.deliver_at, now()) as visible_at, m.priority, m.group_id, m.expires_at,
             ${clientId} = any(${fullClients}::bigint[]) and m.to_address not like 'user:%' as overflow,
             m.deliver_at > now() + make_interval(secs => ${DELAY_HORIZON_SECONDS}) as pending`;
  // Without rules a (client, message) pair comes from one subscription only (filtered or not, one
  // per address): no duplicates to drop, so no sort.
  const union = routes !== undefined && routes.addresses.length > 0;
  const recipients = routes === undefined
    ? sql`
      select s.client_id, m.id as message_id, null::text as via, ${copy(sql`s.client_id`)}
      from m
      join switchyard.subscription s on s.address = m.to_address and s.filter is null`
    : sql`
      select ${union ? sql`distinct on (p.client_id, m.id)` : sql``} p.client_id, m.id as message_id, p.via, ${copy(sql`p.client_id`)}
      from (
        select s.client_id, m.entry, null::text as via
        from m join switchyard.subscription s on s.address = m.to_address and s.filter is null
        union all
        select s.client_id, r.entry, r.via
        from unnest(${routes.addresses.map((r) => r.entry + 1)}::bigint[], ${routes.addresses.map((r) => r.address)}::text[],
                    ${routes.addresses.map((r) => r.via)}::text[]) as r(entry, address, via)
        join switchyard.subscription s on s.address = r.address and s.filter is null
        union all
        select x.client_id, x.entry, x.via
        from unnest(${routes.recipients.map((r) => r.clientId)}::bigint[], ${routes.recipients.map((r) => r.entry + 1)}::bigint[],
                    ${routes.recipients.map((r) => r.via)}::text[]) as x(client_id, entry, via)
      ) p
      join m on m.entry = p.entry
      ${union ? sql`order by p.client_id, m.id, p.via nulls first` : sql``}`;
  const result = await sql<{ kind: 'delivered' | 'overflow'; client_id: string; n: number }>`${PREPARED}
    with m as (${messages}),
    r as (${recipients}),
    inserted as (
      insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, via)
      select client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, via
      from r where not overflow and pending is not true
      on conflict (client_id, message_id) do nothing
      returning client_id
    ),
    postponed as (
      insert into switchyard.delivery_pending (client_id, message_id, due_at, sort_key, priority, group_id, expires_at, via)
      select client_id, message_id, visible_at, sort_key, priority, group_id, expires_at, via
      from r where not overflow and pending
      on conflict (client_id, message_id) do nothing
    ),
    overflowed as (${buryDeliveries(sql`(
      select client_id, message_id, 0 as receive_count, null::timestamptz as first_received_at,
             null::timestamptz as last_received_at, now() as enqueued_at, priority, group_id
      from r where overflow)`, 'overflow', sql`'the queue was full (overflow policy reject): this copy was not enqueued'`, sql`client_id`)})
    (select 'delivered' as kind, client_id, 1 as n from (select distinct client_id from inserted limit ${MAX_NAMED_RECIPIENTS + 1}) d)
    union all
    (select 'overflow', client_id, count(*)::int from overflowed group by client_id)`.execute(tx);
  const delivered = result.rows.filter((row) => row.kind === 'delivered').map((row) => row.client_id);
  const overflowed = new Map(result.rows.filter((row) => row.kind === 'overflow').map((row) => [row.client_id, row.n]));
  return { recipients: delivered.length > MAX_NAMED_RECIPIENTS ? undefined : delivered, overflowed };
}

export interface FilteredSubscription {
  address: string;
  client_id: string;
  filter: unknown;
}

/**
 * The subscriptions with a filter at these addresses (index subscription_filtered), and the
 * routing rules' version as this transaction sees it (a trigger moves it on every rule change).
 */
export async function listFilteredSubscriptions(tx: Tx, addresses: string[]): Promise<{ subscriptions: FilteredSubscription[]; rulesVersion: string }> {
  const result = await sql<{ subscriptions: FilteredSubscription[]; rules_version: string | null }>`${PREPARED}
    select (select value from switchyard.shared_setting where key = 'routing_rules_version') as rules_version,
           coalesce((select json_agg(json_build_object('address', s.address, 'client_id', s.client_id::text, 'filter', s.filter))
                     from switchyard.subscription s
                     where s.address = any (${addresses}::text[]) and s.filter is not null), '[]') as subscriptions`.execute(tx);
  const row = result.rows[0]!;
  return { subscriptions: row.subscriptions, rulesVersion: row.rules_version ?? '0' };
}

export interface MessageContent {
  id: string;
  payload: unknown;
  headers: Record<string, string> | null;
}

/** Payload and headers of these log messages, which the stage reads only when a policy needs them. */
export async function listMessageContents(tx: Tx, ids: string[]): Promise<MessageContent[]> {
  const result = await sql<MessageContent>`${PREPARED}
    select id, payload, headers from switchyard.message where id = any (${ids}::uuid[])`.execute(tx);
  return result.rows;
}
