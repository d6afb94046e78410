// The routing stage: resolves each message's recipients from the subscriptions (listen-to lists
// are relational data, read at routing time) and writes one delivery row per recipient client.
// Receivers waiting on those clients are woken after the commit. Overflow acts per recipient: a
// copy for a full queue follows that client's own policy (routing.repository.ts).
//
// Content routing (README, "Content routing"): routing rules add addresses to a message, and
// subscriptions with a filter receive only what their policy matches. Policies are evaluated here,
// in TypeScript, not in SQL: the evaluator (filter-policy.ts) is linear and needs no regular
// expression, while SQL would need either user patterns turned into expressions or a generic
// jsonb walk per (subscription, message) pair, which is far slower than a join. Unfiltered
// subscriptions never leave the database: they stay one set-based join (the fast path), and a
// batch that meets no rule and no filtered subscription runs exactly the plain statement. Only
// filtered subscriptions are read into the stage, with the message content only when a policy
// reads payload or headers. That read is one more round trip per batch even when there are no
// filters (an index lookup on an empty partial index): it cannot be cached in memory, since a
// subscriber whose filter the cache missed would silently lose messages.
import type { Tx } from '../db/database.ts';
import type { LogEntry } from '../queue/stage-cursor.repository.ts';
import type { Stage } from '../queue/stage-runner.ts';
import { matchesPolicy, policyReadsContent, type FilterableMessage, type FilterPolicy } from './filter-policy.ts';
import type { RoutingRule, RoutingRules } from './routing-rules.ts';
import { insertDeliveries, listFilteredSubscriptions, listMessageContents, routeBatch, type ContentRoutes } from './routing.repository.ts';

export const ROUTING_STAGE = 'routing';

export interface RoutingStageOptions {
  priorityAgingMs: number;
  /** The routing rules (absent: none, as in tests of the plain fan-out). */
  rules?: RoutingRules | undefined;
  /** Called after commit with the recipients' client ids (undefined: too many to name). */
  onDelivered: (clientIds: string[] | undefined) => void;
  /** Clients whose queue is full with overflow policy reject (refreshed elsewhere; none by default). */
  fullClients?: () => string[];
  /** Called after commit with the copies dead-lettered for overflow, per client id. */
  onOverflow?: (perClient: Map<string, number>) => void;
}

interface Filtered {
  clientId: string;
  filter: FilterPolicy;
}

/**
 * Once the one-statement batch has said that content routing is in use (a rule or a filtered
 * subscription exists), the stage goes straight to the general path for this long instead of
 * asking again per batch, which cost a wasted round trip on every batch. The general path is right
 * in every case, so the window only delays the return to the fast path after the last rule or
 * filter is removed.
 */
export const CONTENT_RECHECK_MS = 5_000;

export function createRoutingStage(options: RoutingStageOptions): Stage {
  let generalPathUntil = 0;
  return {
    name: ROUTING_STAGE,
    async handle(tx, entries, afterCommit) {
      const routes = await contentRoutes(tx, entries, options.rules);
      const { recipients, overflowed } = await insertDeliveries(tx, entries, options.priorityAgingMs, routes, options.fullClients?.() ?? []);
      if (recipients === undefined || recipients.length > 0) afterCommit(() => options.onDelivered(recipients));
      if (overflowed.size > 0 && options.onOverflow) afterCommit(() => options.onOverflow!(overflowed));
    },
    async runInOneStatement(db, lanesPerClaim, batchSize, lanes) {
      if (performance.now() < generalPathUntil) return undefined;
      const batch = await routeBatch(db, lanesPerClaim, batchSize, options.priorityAgingMs, options.fullClients?.() ?? [], lanes);
      if (batch === undefined) {
        generalPathUntil = performance.now() + CONTENT_RECHECK_MS;
        return undefined;
      }
      const effects: (() => void)[] = [];
      if (batch.recipients === undefined || batch.recipients.length > 0) effects.push(() => options.onDelivered(batch.recipients));
      if (batch.overflowed.size > 0 && options.onOverflow) effects.push(() => options.onOverflow!(batch.overflowed));
      return { lanes: batch.lanes, processed: batch.entries, fullLane: batch.fullLane, effects };
    },
  };
}

/** What rules and filters add to the batch; undefined when nothing does (the plain fan-out). */
async function contentRoutes(tx: Tx, entries: LogEntry[], cache: RoutingRules | undefined): Promise<ContentRoutes | undefined> {
  // Every address the batch may reach, by the rules as last known; the same read says whether
  // the rules changed since, and the few addresses new rules add are read after.
  const meets = (rules: RoutingRule[]) => entries.map((entry) => rules.filter((rule) => rule.on === undefined || rule.on.has(entry.to_address)));
  const reachable = (rules: RoutingRule[]) => new Set([...entries.map((entry) => entry.to_address), ...meets(rules).flat().flatMap((rule) => rule.to)]);
  const guessed = reachable(cache?.peek() ?? []);
  const read = await listFilteredSubscriptions(tx, [...guessed]);
  const rules = cache ? await cache.current(tx, read.rulesVersion) : [];
  const candidates = meets(rules);
  const missing = [...reachable(rules)].filter((address) => !guessed.has(address));
  const rows = missing.length === 0 ? read.subscriptions : [...read.subscriptions, ...(await listFilteredSubscriptions(tx, missing)).subscriptions];

  const filtered = new Map<string, Filtered[]>();
  for (const row of rows) {
    let list = filtered.get(row.address);
    if (list === undefined) filtered.set(row.address, (list = []));
    list.push({ clientId: row.client_id, filter: row.filter as FilterPolicy });
  }
  if (filtered.size === 0 && candidates.every((list) => list.length === 0)) return undefined;

  const contents = await readContents(tx, entries, candidates, filtered);
  const routes: ContentRoutes = { addresses: [], recipients: [] };
  entries.forEach((entry, index) => {
    const message: FilterableMessage = {
      type: entry.type, from: entry.sender, to: entry.to_address,
      headers: contents.get(entry.id)?.headers ?? null, payload: contents.get(entry.id)?.payload ?? null,
    };
    // The message's own address, then each address a matching rule adds, each once (the first
    // rule by name wins, as in insertDeliveries).
    const reached = new Map<string, string | null>([[entry.to_address, null]]);
    for (const rule of candidates[index]!) {
      if (!matchesPolicy(rule.match, message)) continue;
      for (const address of rule.to) {
        if (reached.has(address)) continue;
        reached.set(address, rule.name);
        routes.addresses.push({ entry: index, address, via: rule.name });
      }
    }
    for (const [address, via] of reached) {
      for (const subscription of filtered.get(address) ?? []) {
        if (matchesPolicy(subscription.filter, message)) routes.recipients.push({ entry: index, clientId: subscription.clientId, via });
      }
    }
  });
  // Nothing matched: the plain statement gives the same rows (it skips filtered subscriptions).
  return routes.addresses.length === 0 && routes.recipients.length === 0 ? undefined : routes;
}

/** Payload and headers of the messages some policy they meet reads; an empty map when none does. */
async function readContents(tx: Tx, entries: LogEntry[], candidates: RoutingRule[][], filtered: Map<string, Filtered[]>) {
  const reads = [...filtered.values()].some((list) => list.some((subscription) => policyReadsContent(subscription.filter)))
    || candidates.some((list) => list.some((rule) => rule.readsContent));
  const contents = new Map<string, { payload: unknown; headers: Record<string, string> | null }>();
  if (!reads) return contents;
  for (const row of await listMessageContents(tx, entries.map((entry) => entry.id))) contents.set(row.id, row);
  return contents;
}
