// Burying deliveries: the one insert into switchyard.dead_letter is the SQL function
// switchyard.bury_deliveries (migration 0021). Receives and nacks (max_receives), the overflow
// policy dead_letter (inbox/) and routing's copies for a full queue (routing/) all bury rows; the
// statements the service sends call it through this fragment, the SQL functions call it directly.
// The rows to bury come from a CTE of the same statement (usually `delete ... returning d.*`).
import { sql, type RawBuilder } from 'kysely';

export type DeadLetterReason = 'max_receives' | 'overflow';

/**
 * A select that buries the rows of `source` (a relation with the delivery columns client_id,
 * message_id, receive_count, first_received_at, last_received_at, enqueued_at, priority,
 * group_id) with this reason and last error; a row already buried stays as it is. Answers
 * `returning` (client_id or message_id) of each row buried. A CTE of it runs only when the
 * statement reads it, so callers always do.
 */
export function buryDeliveries(
  source: RawBuilder<unknown>, reason: DeadLetterReason, lastError: RawBuilder<unknown>, returning: RawBuilder<unknown>,
): RawBuilder<unknown> {
  return sql`
      select ${returning} from switchyard.bury_deliveries(array(
        select row(client_id, message_id, receive_count, first_received_at, last_received_at, ${lastError}::text,
                   enqueued_at, priority, group_id)::switchyard.burial
        from ${source} as buried), ${sql.lit(reason)})`;
}
