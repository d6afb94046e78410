// Registration and listen-to lists. Who may listen to what is decided when the list changes:
// user:<name> only by clients registered under that name, group:<name> only by members,
// topic:<name> by anyone. Every client listens to its own user:<name>.
import type { Db } from '../db/database.ts';
import type { GroupMembership } from '../groups/membership.ts';
import { ApiError, type FieldError } from '../http/problem.ts';
import { parseAddress, userAddress } from '../messages/address.ts';
import { getClient, insertClient, listSubscriptionAddresses, replaceSubscriptions, type ClientRecord } from './clients.repository.ts';
import type { ClientView } from './clients.schemas.ts';
import { generateToken, hashToken } from './tokens.ts';

export class ClientsService {
  readonly #db: Db;
  readonly #membership: GroupMembership;

  constructor(db: Db, membership: GroupMembership) {
    this.#db = db;
    this.#membership = membership;
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

  /** The addresses to store (with user:<name> added), or ListenToForbidden naming each refused one. */
  async #authorizeListenTo(name: string, listenTo: string[]): Promise<string[]> {
    const errors: FieldError[] = [];
    for (const [index, address] of listenTo.entries()) {
      const { kind, name: target } = parseAddress(address);
      if (kind === 'user' && target !== name) {
        errors.push({ path: `listen_to.${index}`, message: `only clients registered as ${target} may listen to ${address}` });
      } else if (kind === 'group' && !(await this.#membership.isMember(target, name))) {
        errors.push({ path: `listen_to.${index}`, message: `${name} is not a member of ${address}` });
      }
    }
    if (errors.length > 0) {
      throw new ApiError('ListenToForbidden', errors.map((e) => e.message).join('; '), { errors });
    }
    return [...new Set([userAddress(name), ...listenTo])].sort();
  }
}

function view(client: ClientRecord, addresses: string[]): ClientView {
  return { id: client.id, name: client.name, listen_to: addresses, created_at: client.created_at.toISOString() };
}
