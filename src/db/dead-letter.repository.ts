// Burying deliveries: the one insert into switchyard.dead_letter. Receives and nacks (max_receives),
// the overflow policy dead_letter (inbox/) and routing's copies for a full queue (routing/) all
// bury rows, so the rule lives here, below both features, as a fragment of their statements:
// the rows to bury come from a CTE of the same statement (usually `delete ... returning d.*`).
import { sql, type RawBuilder } from 'kysely';

export type DeadLetterReason = 'max_receives' | 'overflow';

/**
 * `insert ... select` of the rows of `source` (a relation with the delivery columns client_id,
 * message_id, receive_count, first_received_at, last_received_at, enqueued_at, priority,
 * group_id) into the dead letters, with this reason and last error; a row already buried stays as
 * it is. Returns `returning` of each row buried.
 */
export function buryDeliveries(
  source: RawBuilder<unknown>, reason: DeadLetterReason, lastError: RawBuilder<unknown>, returning: RawBuilder<unknown>,
): RawBuilder<unknown> {
  return sql`
      insert into switchyard.dead_letter (client_id, message_id, reason, receive_count, first_received_at,
                                          last_received_at, last_error, enqueued_at, priority, group_id)
      select client_id, message_id, ${sql.lit(reason)}, receive_count, first_received_at, last_received_at, ${lastError},
             enqueued_at, priority, group_id
      from ${source} as buried
      on conflict (client_id, message_id) do nothing
      returning ${returning}`;
}
