import { sql } from 'kysely';
import type { ClientRecord } from '../auth/client-token.repository.ts';
import type { Db, Tx } from '../db/database.ts';
import type { FilterPolicy } from '../routing/filter-policy.ts';

/** One listen-to entry as clients see it: the address alone, or with its filter policy. */
export type ListenToEntry = string | { address: string; filter: FilterPolicy };

/** The listen-to entries of a client (alias c), in address order, as one JSON array. */
const LISTEN_TO_OF_CLIENT = sql<ListenToEntry[]>`coalesce((
  select jsonb_agg(case when s.filter is null then to_jsonb(s.address)
                        else jsonb_build_object('address', s.address, 'filter', s.filter) end order by s.address)
  from switchyard.subscription s where s.client_id = c.id), '[]'::jsonb)`;

export async function insertClient(tx: Tx, name: string, tokenHash: Buffer): Promise<ClientRecord> {
  return tx
    .insertInto('switchyard.client')
    .values({ name, token_hash: tokenHash })
    .returning(['id', 'name', 'created_at'])
    .executeTakeFirstOrThrow();
}

export async function getClient(db: Db, id: string): Promise<ClientRecord | undefined> {
  return db.selectFrom('switchyard.client').select(['id', 'name', 'created_at']).where('id', '=', id).executeTakeFirst();
}

export interface ClientStatusRecord extends ClientRecord {
  revoked_at: Date | null;
}

export async function getClientStatus(db: Db, id: string): Promise<ClientStatusRecord | undefined> {
  return db.selectFrom('switchyard.client').select(['id', 'name', 'created_at', 'revoked_at']).where('id', '=', id).executeTakeFirst();
}

/** Gives an active client a new token hash; undefined when there is no such active client. */
export async function updateClientTokenHash(db: Db, id: string, tokenHash: Buffer): Promise<ClientRecord | undefined> {
  return db
    .updateTable('switchyard.client')
    .set({ token_hash: tokenHash })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning(['id', 'name', 'created_at'])
    .executeTakeFirst();
}

/** Marks the client revoked (keeping the first time, if already); undefined when there is no such client. */
export async function revokeClient(tx: Tx, id: string): Promise<ClientStatusRecord | undefined> {
  return tx
    .updateTable('switchyard.client')
    .set({ revoked_at: sql`coalesce(revoked_at, now())` })
    .where('id', '=', id)
    .returning(['id', 'name', 'created_at', 'revoked_at'])
    .executeTakeFirst();
}

/**
 * Empties a revoked client's queue and unsubscribes it from everything: it can never read again,
 * so nothing more is routed to it and nothing waits for it.
 */
export async function deleteClientQueue(tx: Tx, clientId: string): Promise<void> {
  await tx.deleteFrom('switchyard.subscription').where('client_id', '=', clientId).execute();
  await sql`delete from switchyard.delivery where client_id = ${clientId}`.execute(tx);
  await sql`delete from switchyard.delivery_pending where client_id = ${clientId}`.execute(tx);
}

export async function listListenTo(db: Db, clientId: string): Promise<ListenToEntry[]> {
  const result = await sql<{ listen_to: ListenToEntry[] }>`
    select ${LISTEN_TO_OF_CLIENT} as listen_to from switchyard.client c where c.id = ${clientId}`.execute(db);
  return result.rows[0]?.listen_to ?? [];
}

/** What each of these clients listens to, in one statement (for lists of clients). */
export async function listSubscriptionAddressesOfClients(db: Db, clientIds: string[]): Promise<Map<string, string[]>> {
  const result = await sql<{ client_id: string; addresses: string[] }>`
    select client_id::text, array_agg(address order by address) as addresses
    from switchyard.subscription
    where client_id = any (${clientIds}::bigint[])
    group by client_id`.execute(db);
  return new Map(result.rows.map((row) => [row.client_id, row.addresses]));
}

/**
 * Makes the client's subscriptions exactly `entries` (one per address). A changed filter applies
 * to messages routed after this commits; deliveries already made stay.
 */
export async function replaceSubscriptions(tx: Tx, clientId: string, entries: { address: string; filter: FilterPolicy | null }[]): Promise<void> {
  const addresses = entries.map((entry) => entry.address);
  await sql`
    delete from switchyard.subscription
    where client_id = ${clientId} and address <> all (${addresses}::text[])`.execute(tx);
  await sql`
    insert into switchyard.subscription (address, client_id, filter)
    select x.address, ${clientId}, x.filter::jsonb
    from unnest(${addresses}::text[], ${entries.map((entry) => (entry.filter === null ? null : JSON.stringify(entry.filter)))}::text[]) as x(address, filter)
    on conflict (address, client_id) do update set filter = excluded.filter
    where subscription.filter is distinct from excluded.filter`.execute(tx);
}

export interface ClientListRow extends ClientStatusRecord {
  listen_to: ListenToEntry[];
}

/** Clients in id order, active ones only unless includeRevoked, with what each listens to. */
export async function listClients(db: Db, o: { limit: number; afterId?: string | undefined; includeRevoked: boolean }): Promise<ClientListRow[]> {
  const result = await sql<ClientListRow>`
    select c.id::text as id, c.name, c.created_at, c.revoked_at,
           ${LISTEN_TO_OF_CLIENT} as listen_to
    from switchyard.client c
    where (${o.includeRevoked} or c.revoked_at is null)
      and (${o.afterId ?? null}::bigint is null or c.id > ${o.afterId ?? null}::bigint)
    order by c.id
    limit ${o.limit}`.execute(db);
  return result.rows;
}
