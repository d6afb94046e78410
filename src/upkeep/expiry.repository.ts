// What expires: deduplication entries past their window, deliveries past their ttl that nobody
// received (counted in analytics as expired), dead letters past their retention, and per-sender
// rollups past theirs. Each call handles one bounded batch.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export async function deleteExpiredDedup(db: Db, limit: number): Promise<number> {
  const result = await sql`
    delete from switchyard.dedup
    where ctid = any (array(select ctid from switchyard.dedup where expires_at < now() limit ${limit}))`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export async function deleteExpiredDeliveries(db: Db, limit: number): Promise<number> {
  const result = await sql<{ n: number }>`
    with picked as (
      select client_id, message_id from switchyard.delivery
      where expires_at <= now()
      limit ${limit}
      for update skip locked
    ),
    gone as (
      delete from switchyard.delivery d using picked p
      where d.client_id = p.client_id and d.message_id = p.message_id
      returning d.message_id
    ),
    counted as (
      insert into switchyard.analytics_minute (minute, address, expired)
      select date_trunc('minute', m.created_at),
             case when m.to_address like 'user:%' then 'user:*' else m.to_address end, count(*)
      from gone join switchyard.message m on m.id = gone.message_id
      group by 1, 2
      order by 1, 2
      on conflict (minute, address) do update set expired = analytics_minute.expired + excluded.expired
    )
    select count(*)::int as n from gone`.execute(db);
  return result.rows[0]?.n ?? 0;
}

export async function deleteOldSenderCounts(db: Db, retentionDays: number, limit: number): Promise<number> {
  const result = await sql`
    delete from switchyard.analytics_sender_hour
    where ctid = any (array(
      select ctid from switchyard.analytics_sender_hour where hour < now() - make_interval(days => ${retentionDays}) limit ${limit}))`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Per-minute analytics rows older than the retention (found by the primary key's leading minute). */
export async function deleteOldAnalyticsMinutes(db: Db, retentionDays: number, limit: number): Promise<number> {
  const result = await sql`
    delete from switchyard.analytics_minute
    where ctid = any (array(
      select ctid from switchyard.analytics_minute where minute < now() - make_interval(days => ${retentionDays}) limit ${limit}))`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export async function deleteOldDeadLetters(db: Db, retentionDays: number, limit: number): Promise<number> {
  const result = await sql`
    delete from switchyard.dead_letter
    where ctid = any (array(
      select ctid from switchyard.dead_letter where dead_at < now() - make_interval(days => ${retentionDays}) limit ${limit}))`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
