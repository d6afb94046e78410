// Registration, listen-to lists and the token lifecycle. Who may listen to what is decided when
// the list changes: user:<name> only by clients registered under that name, group:<name> only by
// members, topic:<name> by anyone unless the topic's policy restricts subscribe. Every client
// listens to its own user:<name>.
//
// Rotation gives a client a new token and makes the old one fail at once; revocation ends the
// client for good (its token fails, it is unsubscribed from everything and its queue emptied).
// Both signal config client:<id> (onChange) so every process drops its cached token at once, and
// open streams close within one heartbeat.
import type { Db } from '../db/database.ts';
import { ApiError, fieldProblem, type FieldError } from '../http/problem.ts';
import { userAddress } from '../messages/address.ts';
import {
  deleteClientQueue, getClient, getClientStatus, insertClient, listSubscriptionAddresses, replaceSubscriptions, revokeClient,
  updateClientTokenHash, type ClientRecord,
} from './clients.repository.ts';
import type { ClientStatusView, ClientView } from './clients.schemas.ts';
import type { ListenRights } from './listen-rights.ts';
import { generateToken, hashToken } from './tokens.ts';

export class ClientsService {
  readonly #db: Db;
  readonly #rights: ListenRights;
  readonly #onChange: (clientId: string) => void;

  constructor(db: Db, rights: ListenRights, onChange: (clientId: string) => void) {
    this.#db = db;
    this.#rights = rights;
    this.#onChange = onChange;
  }

  async register(name: string, listenTo: string[]): Promise<ClientView & { token: string }> {
    const addresses = await this.#authorizeListenTo(name, listenTo);
    const token = generateToken();
    const client = await this.#db.transaction().execute(async (tx) => {
      const created = await insertClient(tx, name, hashToken(token));
      await replaceSubscriptions(tx, created.id, addresses);
      return created;
    });
    return { ...view(client, addresses), token };
  }

  async describe(client: ClientRecord): Promise<ClientView> {
    return view(client, await listSubscriptionAddresses(this.#db, client.id));
  }

  async replaceListenTo(client: ClientRecord, listenTo: string[]): Promise<ClientView> {
    const addresses = await this.#authorizeListenTo(client.name, listenTo);
    await this.#db.transaction().execute((tx) => replaceSubscriptions(tx, client.id, addresses));
    return view(client, addresses);
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

  /** The addresses to store (with user:<name> added), or ListenToForbidden naming each refused one. */
  async #authorizeListenTo(name: string, listenTo: string[]): Promise<string[]> {
    const errors: FieldError[] = [];
    for (const [index, address] of listenTo.entries()) {
      const refusal = await this.#rights.refusal(name, address);
      if (refusal) errors.push({ path: `listen_to.${index}`, message: refusal });
    }
    if (errors.length > 0) throw fieldProblem('ListenToForbidden', errors);
    return [...new Set([userAddress(name), ...listenTo])].sort();
  }
}

function view(client: ClientRecord, addresses: string[]): ClientView {
  return { id: client.id, name: client.name, listen_to: addresses, created_at: client.created_at.toISOString() };
}
