import { sql } from 'kysely';
import { PREPARED, type Db, type Tx } from '../db/database.ts';
import type { LaneSelection } from '../queue/lane-hints.ts';
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
 * stage has chosen their rows. The statement is switchyard.insert_deliveries (migration 0021), which
 * the one-round-trip batch (routeBatch) runs too.
 */
export async function insertDeliveries(
  tx: Tx, entries: LogEntry[], agingMs: number, routes?: ContentRoutes, fullClients: string[] = [],
): Promise<Routed> {
  const content = routes === undefined ? sql`` : sql`,
      ${routes.addresses.map((r) => r.entry + 1)}::bigint[], ${routes.addresses.map((r) => r.address)}::text[],
      ${routes.addresses.map((r) => r.via)}::text[], ${routes.recipients.map((r) => r.clientId)}::bigint[],
      ${routes.recipients.map((r) => r.entry + 1)}::bigint[], ${routes.recipients.map((r) => r.via)}::text[]`;
  const result = await sql<FanOutRow>`${PREPARED}
    select * from switchyard.insert_deliveries(
      ${entries.map((e) => e.id)}::uuid[], ${entries.map((e) => e.to_address)}::text[],
      ${entries.map((e) => e.priority)}::smallint[], ${entries.map((e) => e.deliver_at)}::timestamptz[],
      ${entries.map((e) => e.created_at)}::timestamptz[], ${entries.map((e) => e.group_id)}::text[],
      ${entries.map((e) => e.expires_at)}::timestamptz[], ${agingMs}::float8, ${fullClients}::bigint[],
      ${DELAY_HORIZON_SECONDS}, ${MAX_NAMED_RECIPIENTS}${content})`.execute(tx);
  return routed(result.rows);
}

/** A row of switchyard.insert_deliveries or switchyard.route_batch. */
interface FanOutRow {
  kind: 'delivered' | 'overflow' | 'lanes' | 'entries' | 'full_lane' | 'content';
  client_id: string | null;
  n: number;
}

function routed(rows: FanOutRow[]): Routed {
  const delivered = rows.filter((row) => row.kind === 'delivered').map((row) => row.client_id!);
  const overflowed = new Map(rows.filter((row) => row.kind === 'overflow').map((row) => [row.client_id!, row.n]));
  return { recipients: delivered.length > MAX_NAMED_RECIPIENTS ? undefined : delivered, overflowed };
}

export interface RoutedBatch extends Routed {
  /** Lanes claimed and messages routed. */
  lanes: number;
  entries: number;
  /** A lane filled the batch: there is more to read at once. */
  fullLane: boolean;
}

/**
 * One routing batch in one round trip (switchyard.route_batch, migration 0021, says why the
 * cursor rules still hold): claim lanes, read and advance them, fan out, committed as one
 * statement. Undefined when content routing is in use (a routing rule or a filtered subscription
 * exists): the stage's policy evaluator runs in the service, so the caller takes the general path.
 * `lanes` narrows the claim as claimLanes's does (migration 0026).
 */
export async function routeBatch(
  db: Db, maxLanes: number, limit: number, agingMs: number, fullClients: string[], lanes?: LaneSelection,
): Promise<RoutedBatch | undefined> {
  const result = await sql<FanOutRow>`${PREPARED}
    select * from switchyard.route_batch(${maxLanes}, ${limit}, ${agingMs}::float8, ${fullClients}::bigint[],
      ${DELAY_HORIZON_SECONDS}, ${MAX_NAMED_RECIPIENTS}, ${lanes ?? null}::smallint[])`.execute(db);
  const count = (kind: FanOutRow['kind']) => result.rows.find((row) => row.kind === kind)?.n ?? 0;
  if (result.rows.some((row) => row.kind === 'content')) return undefined;
  return { ...routed(result.rows), lanes: count('lanes'), entries: count('entries'), fullLane: count('full_lane') > 0 };
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
