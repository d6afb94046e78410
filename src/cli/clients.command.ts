// switchyard clients create|list|rotate|revoke: the admin API's client lifecycle, straight on the
// database. Running services hear of rotations and revocations by NOTIFY, as from any process.
import { listClients } from '../clients/clients.repository.ts';
import { ClientIdParams } from '../clients/clients.schemas.ts';
import { AddressAccess } from '../auth/access.ts';
import { ClientsService } from '../clients/clients.service.ts';
import type { Db } from '../db/database.ts';
import { GroupMembership } from '../groups/membership.ts';
import { addressProblem, NameSchema } from '../addresses/address.ts';
import { sendNotification } from '../notifications/notify.repository.ts';
import { TopicPolicies } from '../topics/topic-policies.ts';
import { formatTable, truncate } from './text-table.ts';
import { UsageError } from './usage-error.ts';

export const CLIENTS_USAGE = 'usage: switchyard clients create NAME [--listen-to ADDR,...] | list [--limit N] [--after ID] [--revoked] | rotate ID | revoke ID';
const LIST_LIMIT_DEFAULT = 100;

export interface ClientsArgs {
  sub: string | undefined;
  arg: string | undefined;
  listenTo: string | undefined;
  limit: string | undefined;
  after: string | undefined;
  revoked: boolean;
}

/** Checks the arguments before anything opens; returns the work to do on the database. */
export function clientsCommand(a: ClientsArgs, out: NodeJS.WritableStream): (db: Db) => Promise<void> {
  switch (a.sub) {
    case 'create': {
      if (!a.arg || !NameSchema.safeParse(a.arg).success) throw new UsageError(`"${a.arg ?? ''}" is not a client name (letters, digits, _ . -)`);
      const listenTo = (a.listenTo ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      for (const address of listenTo) {
        const problem = addressProblem(address);
        if (problem) throw new UsageError(`--listen-to ${address}: ${problem}`);
      }
      return async (db) => {
        const created = await service(db).register(a.arg!, listenTo);
        out.write(`client ${created.id} (${created.name}) listens to ${created.listen_to.map(listenToText).join(', ')}\n`);
        out.write(`token (shown once): ${created.token}\n`);
      };
    }
    case 'list': {
      const limit = a.limit === undefined ? LIST_LIMIT_DEFAULT : Number(a.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new UsageError('--limit must be a whole number from 1 to 100000');
      if (a.after !== undefined && !ClientIdParams.safeParse({ id: a.after }).success) throw new UsageError(`"${a.after}" is not a client id`);
      return async (db) => {
        const rows = await listClients(db, { limit: limit + 1, afterId: a.after, includeRevoked: a.revoked });
        const shown = rows.slice(0, limit);
        const table = formatTable(['ID', 'NAME', 'CREATED', 'REVOKED', 'LISTENS TO'], shown.map((c) => [
          c.id, c.name, c.created_at.toISOString(), c.revoked_at?.toISOString() ?? '-', truncate(c.listen_to.map(listenToText).join(',') || '-', 120),
        ]));
        out.write(`${table.join('\n')}\n`);
        if (rows.length > limit) out.write(`more clients follow: --after ${shown.at(-1)!.id}\n`);
      };
    }
    case 'rotate':
    case 'revoke': {
      const id = a.arg;
      if (!id || !ClientIdParams.safeParse({ id }).success) throw new UsageError(`"${id ?? ''}" is not a client id`);
      return async (db) => {
        if (a.sub === 'rotate') {
          const rotated = await service(db).rotate(id);
          out.write(`new token for client ${rotated.id} (${rotated.name}), shown once: ${rotated.token}\n`);
        } else {
          const revoked = await service(db).revoke(id);
          out.write(`client ${revoked.id} (${revoked.name}) revoked at ${revoked.revoked_at}\n`);
        }
        // Running services drop their cached copy of the token and close its streams.
        await sendNotification(db, 'config', [`client:${id}`], 'cli');
      };
    }
    default:
      throw new UsageError(CLIENTS_USAGE);
  }
}

// Caches with a lifetime of 0: the CLI asks the database every time.
function service(db: Db): ClientsService {
  return new ClientsService(db, new AddressAccess(new GroupMembership(db, 0), new TopicPolicies(db, 0)), () => undefined);
}

/** An address, followed by its filter policy as JSON when it has one. */
function listenToText(entry: string | { address: string; filter: unknown }): string {
  return typeof entry === 'string' ? entry : `${entry.address} filter=${JSON.stringify(entry.filter)}`;
}
