// What expires: deduplication entries past their window, deliveries past their ttl that nobody
// received (counted in analytics as expired), dead letters past their retention, and the
// per-sender and per-minute rollups past theirs, content labels and closed anomalies past theirs,
// and classifier models beyond the newest few. Each call handles one bounded batch.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';

/** Deletes one batch of `table`'s rows whose `column` is before `cutoff`; returns how many. */
async function deleteBefore(db: Db, table: string, column: string, cutoff: RawBuilder<unknown>, limit: number): Promise<number> {
  const t = sql.table(`switchyard.${table}`);
  const result = await sql`
    delete from ${t}
    where ctid = any (array(select ctid from ${t} where ${sql.ref(column)} < ${cutoff} limit ${limit}))`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

const daysAgo = (days: number) => sql`now() - make_interval(days => ${days})`;

export function deleteExpiredDedup(db: Db, limit: number): Promise<number> {
  return deleteBefore(db, 'dedup', 'expires_at', sql`now()`, limit);
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

export function deleteOldSenderCounts(db: Db, retentionDays: number, limit: number): Promise<number> {
  return deleteBefore(db, 'analytics_sender_hour', 'hour', daysAgo(retentionDays), limit);
}

/** Found by the primary key's leading column, minute. */
export function deleteOldAnalyticsMinutes(db: Db, retentionDays: number, limit: number): Promise<number> {
  return deleteBefore(db, 'analytics_minute', 'minute', daysAgo(retentionDays), limit);
}

/** Per-sender minutes are kept as long as per-address ones: anomaly detection reads both. */
export function deleteOldSenderMinutes(db: Db, retentionDays: number, limit: number): Promise<number> {
  return deleteBefore(db, 'analytics_sender_minute', 'minute', daysAgo(retentionDays), limit);
}

export function deleteOldDeadLetters(db: Db, retentionDays: number, limit: number): Promise<number> {
  return deleteBefore(db, 'dead_letter', 'dead_at', daysAgo(retentionDays), limit);
}

/** Content labels live as long as the history they are joined into. */
export function deleteOldMessageLabels(db: Db, retentionDays: number, limit: number): Promise<number> {
  return deleteBefore(db, 'message_label', 'labelled_at', daysAgo(retentionDays), limit);
}

/** Closed anomalies as long as the rollups they were found in; open ones stay until they close. */
export async function deleteOldAnomalies(db: Db, retentionDays: number, limit: number): Promise<number> {
  const result = await sql`
    delete from switchyard.anomaly
    where id = any (array(select id from switchyard.anomaly
                          where state = 'closed' and window_start < ${daysAgo(retentionDays)} limit ${limit}))`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Every classifier model but the newest `keep` versions (each is about a megabyte). */
export async function deleteOldClassifierModels(db: Db, keep: number): Promise<number> {
  const result = await sql`
    delete from switchyard.classifier_model
    where version <= (select max(version) from switchyard.classifier_model) - ${keep}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
