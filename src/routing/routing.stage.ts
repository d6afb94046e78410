// The routing stage: resolves each message's recipients from the subscriptions (listen-to lists
// are relational data, read at routing time) and writes one delivery row per recipient client.
// Receivers waiting on those clients are woken after the commit. Overflow acts per recipient: a
// copy for a full queue follows that client's own policy (routing.repository.ts).
import type { Stage } from '../queue/stage-runner.ts';
import { insertDeliveries } from './routing.repository.ts';

export const ROUTING_STAGE = 'routing';

export interface RoutingStageOptions {
  priorityAgingMs: number;
  /** Called after commit with the recipients' client ids (undefined: too many to name). */
  onDelivered: (clientIds: string[] | undefined) => void;
  /** Clients whose queue is full with overflow policy reject (refreshed elsewhere; none by default). */
  fullClients?: () => string[];
  /** Called after commit with the copies dead-lettered for overflow, per client id. */
  onOverflow?: (perClient: Map<string, number>) => void;
}

export function createRoutingStage(options: RoutingStageOptions): Stage {
  return {
    name: ROUTING_STAGE,
    async handle(tx, entries, afterCommit) {
      const { recipients, overflowed } = await insertDeliveries(tx, entries, options.priorityAgingMs, options.fullClients?.() ?? []);
      if (recipients === undefined || recipients.length > 0) afterCommit(() => options.onDelivered(recipients));
      if (overflowed.size > 0 && options.onOverflow) afterCommit(() => options.onOverflow!(overflowed));
    },
  };
}
