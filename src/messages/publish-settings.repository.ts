import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface PublishSettings {
  dedupWindowSeconds: number;
  queueMaxLength: number;
  queueOverflow: string;
}

/**
 * Writes the router's publish rules to switchyard.shared_setting, where SQL switchyard.publish() reads
 * them, so a message published in SQL meets the same dedup window and queue limits as one
 * published over HTTP. Every router writes them at start; they agree when the replicas do.
 */
export async function savePublishSettings(db: Db, s: PublishSettings): Promise<void> {
  const rows = [
    ['publish.dedup_window_seconds', String(s.dedupWindowSeconds)],
    ['publish.queue_max_length', String(s.queueMaxLength)],
    ['publish.queue_overflow', s.queueOverflow],
  ];
  await sql`
    insert into switchyard.shared_setting (key, value)
    select * from unnest(${rows.map((r) => r[0])}::text[], ${rows.map((r) => r[1])}::text[])
    on conflict (key) do update set value = excluded.value, updated_at = now()`.execute(db);
}
