// The routing stage: resolves each message's recipients from the subscriptions (listen-to lists
// are relational data, read at routing time) and writes one delivery row per recipient client.
// Receivers waiting on those clients are woken after the commit.
import type { Stage } from '../queue/stage-runner.ts';
import { insertDeliveries } from './routing.repository.ts';

export const ROUTING_STAGE = 'routing';

export interface RoutingStageOptions {
  priorityAgingMs: number;
  /** Called after commit with the recipients' client ids (undefined: too many to name). */
  onDelivered: (clientIds: string[] | undefined) => void;
}

export function createRoutingStage(options: RoutingStageOptions): Stage {
  return {
    name: ROUTING_STAGE,
    async handle(tx, entries, afterCommit) {
      const recipients = await insertDeliveries(tx, entries, options.priorityAgingMs);
      if (recipients === undefined || recipients.length > 0) afterCommit(() => options.onDelivered(recipients));
    },
  };
}
