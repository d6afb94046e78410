import { sql } from 'kysely';
import type { Db, Tx } from '../db/database.ts';

export interface ClientRecord {
  id: string;
  name: string;
  created_at: Date;
}

export async function insertClient(tx: Tx, name: string, tokenHash: Buffer): Promise<ClientRecord> {
  return tx
    .insertInto('switchyard.client')
    .values({ name, token_hash: tokenHash })
    .returning(['id', 'name', 'created_at'])
    .executeTakeFirstOrThrow();
}

export async function findClientByTokenHash(db: Db, tokenHash: Buffer): Promise<ClientRecord | undefined> {
  return db
    .selectFrom('switchyard.client')
    .select(['id', 'name', 'created_at'])
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
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

export async function listSubscriptionAddresses(db: Db, clientId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('switchyard.subscription')
    .select('address')
    .where('client_id', '=', clientId)
    .orderBy('address')
    .execute();
  return rows.map((row) => row.address);
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

/** Makes the client's subscriptions exactly `addresses`. */
export async function replaceSubscriptions(tx: Tx, clientId: string, addresses: string[]): Promise<void> {
  await sql`
    delete from switchyard.subscription
    where client_id = ${clientId} and address <> all (${addresses}::text[])`.execute(tx);
  await sql`
    insert into switchyard.subscription (address, client_id)
    select unnest(${addresses}::text[]), ${clientId}
    on conflict do nothing`.execute(tx);
}

export interface ClientListRow extends ClientStatusRecord {
  listen_to: string[];
}

/** Clients in id order, active ones only unless includeRevoked, with what each listens to. */
export async function listClients(db: Db, o: { limit: number; afterId?: string | undefined; includeRevoked: boolean }): Promise<ClientListRow[]> {
  const result = await sql<ClientListRow>`
    select c.id::text as id, c.name, c.created_at, c.revoked_at,
           coalesce(array(select s.address from switchyard.subscription s where s.client_id = c.id order by s.address), '{}') as listen_to
    from switchyard.client c
    where (${o.includeRevoked} or c.revoked_at is null)
      and (${o.afterId ?? null}::bigint is null or c.id > ${o.afterId ?? null}::bigint)
    order by c.id
    limit ${o.limit}`.execute(db);
  return result.rows;
}
