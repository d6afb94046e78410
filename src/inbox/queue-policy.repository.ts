import { sql } from 'kysely';
import type { Db, Tx } from '../db/database.ts';

/** A client's own settings; null means the service default. */
export interface QueuePolicyRow {
  max_receives: number | null;
  backoff_base_ms: number | null;
  backoff_cap_ms: number | null;
  max_length: number | null;
  overflow: 'reject' | 'dead_letter' | null;
  delivery_rate: number | null;
  delivery_burst: number | null;
}

export async function getQueuePolicy(db: Db, clientId: string): Promise<QueuePolicyRow | undefined> {
  const result = await sql<QueuePolicyRow>`
    select max_receives, backoff_base_ms, backoff_cap_ms, max_length, overflow, delivery_rate, delivery_burst
    from switchyard.queue_policy where client_id = ${clientId}`.execute(db);
  return result.rows[0];
}

/** Replaces the client's policy; a delivery rate gets a full token bucket, no rate no bucket. */
export async function replaceQueuePolicy(tx: Tx, clientId: string, p: QueuePolicyRow): Promise<void> {
  await sql`
    insert into switchyard.queue_policy (client_id, max_receives, backoff_base_ms, backoff_cap_ms, max_length, overflow,
                                         delivery_rate, delivery_burst)
    values (${clientId}, ${p.max_receives}, ${p.backoff_base_ms}, ${p.backoff_cap_ms}, ${p.max_length}, ${p.overflow},
            ${p.delivery_rate}, ${p.delivery_burst})
    on conflict (client_id) do update
      set max_receives = excluded.max_receives, backoff_base_ms = excluded.backoff_base_ms,
          backoff_cap_ms = excluded.backoff_cap_ms, max_length = excluded.max_length, overflow = excluded.overflow,
          delivery_rate = excluded.delivery_rate, delivery_burst = excluded.delivery_burst, updated_at = now()`.execute(tx);
  if (p.delivery_rate === null) {
    await sql`delete from switchyard.delivery_bucket where client_id = ${clientId}`.execute(tx);
  } else {
    const burst = p.delivery_burst ?? Math.max(1, Math.ceil(p.delivery_rate));
    await sql`
      insert into switchyard.delivery_bucket (client_id, tokens, updated_at) values (${clientId}, ${burst}, now())
      on conflict (client_id) do update set tokens = least(delivery_bucket.tokens, excluded.tokens)`.execute(tx);
  }
}
