// Registration, listen-to lists and the token lifecycle. Who may listen to what is decided when
// the list changes, by the read rule of auth/access.ts. Every client listens to its own
// user:<name>. A listen-to entry may carry a filter policy (routing/
// filter-policy.ts): only messages it matches enter the queue, from the next routed batch on.
//
// Rotation gives a client a new token and makes the old one fail at once; revocation ends the
// client for good (its token fails, it is unsubscribed from everything and its queue emptied).
// Both signal config client:<id> (onChange) so every process drops its cached token at once, and
// open streams close within one heartbeat.
import type { Db } from '../db/database.ts';
import { ApiError, fieldProblem, type FieldError } from '../http/problem.ts';
import { userAddress } from '../addresses/address.ts';
import type { FilterPolicy } from '../routing/filter-policy.ts';
import {
  deleteClientQueue, getClient, getClientStatus, insertClient, listListenTo, replaceSubscriptions, revokeClient,
  updateClientTokenHash, type ListenToEntry,
} from './clients.repository.ts';
import type { ClientStatusView, ClientView } from './clients.schemas.ts';
import type { AddressAccess } from '../auth/access.ts';
import type { ClientRecord } from '../auth/client-token.repository.ts';
import { generateToken, hashToken } from '../auth/tokens.ts';

export class ClientsService {
  readonly #db: Db;
  readonly #access: AddressAccess;
  readonly #onChange: (clientId: string) => void;

  constructor(db: Db, access: AddressAccess, onChange: (clientId: string) => void) {
    this.#db = db;
    this.#access = access;
    this.#onChange = onChange;
  }

  async register(name: string, listenTo: ListenToInput[]): Promise<ClientView & { token: string }> {
    const entries = await this.#authorizeListenTo(name, listenTo);
    const token = generateToken();
    const client = await this.#db.transaction().execute(async (tx) => {
      const created = await insertClient(tx, name, hashToken(token));
      await replaceSubscriptions(tx, created.id, entries);
      return created;
    });
    return { ...view(client, listenToView(entries)), token };
  }

  async describe(client: ClientRecord): Promise<ClientView> {
    return view(client, await listListenTo(this.#db, client.id));
  }

  async replaceListenTo(client: ClientRecord, listenTo: ListenToInput[]): Promise<ClientView> {
    const entries = await this.#authorizeListenTo(client.name, listenTo);
    await this.#db.transaction().execute((tx) => replaceSubscriptions(tx, client.id, entries));
    return view(client, listenToView(entries));
  }

  async get(id: string): Promise<ClientView | undefined> {
    const client = await getClient(this.#db, id);
    return client ? this.describe(client) : undefined;
  }

  /** The client with its revocation time; NotFound when there is none. */
  async status(id: string): Promise<ClientStatusView> {
    const client = await getClientStatus(this.#db, id);
    if (!client) throw new ApiError('NotFound', `there is no client ${id}`);
    return { ...(await this.describe(client)), revoked_at: client.revoked_at?.toISOString() ?? null };
  }

  /** A new token for an active client, shown once; the old one fails from now on. */
  async rotate(id: string): Promise<ClientView & { token: string }> {
    const token = generateToken();
    const client = await updateClientTokenHash(this.#db, id, hashToken(token));
    if (!client) {
      const existing = await getClientStatus(this.#db, id);
      if (existing) throw new ApiError('ClientRevoked', `client ${id} is revoked; register a new client instead`);
      throw new ApiError('NotFound', `there is no client ${id}`);
    }
    this.#onChange(id);
    return { ...(await this.describe(client)), token };
  }

  /** Ends the client for good; revoking again changes nothing. */
  async revoke(id: string): Promise<ClientStatusView> {
    const client = await this.#db.transaction().execute(async (tx) => {
      const revoked = await revokeClient(tx, id);
      if (revoked) await deleteClientQueue(tx, id);
      return revoked;
    });
    if (!client) throw new ApiError('NotFound', `there is no client ${id}`);
    this.#onChange(id);
    return { ...view(client, []), revoked_at: client.revoked_at!.toISOString() };
  }

  /**
   * The subscriptions to store, in address order with user:<name> added, or ListenToForbidden
   * naming each refused address (ValidationFailed for an address listed twice).
   */
  async #authorizeListenTo(name: string, listenTo: ListenToInput[]): Promise<Subscription[]> {
    const entries = listenTo.map((entry) => (typeof entry === 'string' ? { address: entry, filter: null } : { address: entry.address, filter: entry.filter ?? null }));
    const seen = new Map<string, number>();
    const repeats: FieldError[] = [];
    for (const [index, { address }] of entries.entries()) {
      const first = seen.get(address);
      if (first !== undefined) repeats.push({ path: `listen_to.${index}`, message: `${address} is listed already (listen_to.${first}): one entry per address` });
      else seen.set(address, index);
    }
    if (repeats.length > 0) throw fieldProblem('ValidationFailed', repeats);
    const errors: FieldError[] = [];
    for (const [index, { address }] of entries.entries()) {
      const refusal = await this.#access.readRefusal(name, address);
      if (refusal) errors.push({ path: `listen_to.${index}`, message: refusal.message });
    }
    if (errors.length > 0) throw fieldProblem('ListenToForbidden', errors);
    if (!seen.has(userAddress(name))) entries.push({ address: userAddress(name), filter: null });
    return entries.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }
}

/** A listen-to entry as a request gives it. */
export type ListenToInput = string | { address: string; filter?: FilterPolicy | undefined };

interface Subscription {
  address: string;
  filter: FilterPolicy | null;
}

function listenToView(entries: Subscription[]): ListenToEntry[] {
  return entries.map(({ address, filter }) => (filter === null ? address : { address, filter }));
}

function view(client: ClientRecord, listenTo: ListenToEntry[]): ClientView {
  return { id: client.id, name: client.name, listen_to: listenTo, created_at: client.created_at.toISOString() };
}
