import { sql } from 'kysely';
import type pg from 'pg';
import type { Db } from '../db/database.ts';
import { CHANNELS, encodePayload, type ChannelName } from './channels.ts';

/**
 * One NOTIFY, for processes without a Signals of their own (the CLI): running services hear it
 * like any other process's signal. Call it after the commit it announces.
 */
export async function sendNotification(db: Db, channel: ChannelName, keys: string[], origin: string): Promise<void> {
  await sql`select pg_notify(${CHANNELS[channel]}, ${encodePayload(origin, new Set(keys))})`.execute(db);
}

/** One NOTIFY whose payload is encoded already (Signals coalesces keys first), straight on the pool. */
export async function sendEncodedNotification(pool: pg.Pool, channel: ChannelName, payload: string): Promise<void> {
  await pool.query('select pg_notify($1, $2)', [CHANNELS[channel], payload]);
}

/** Whether a listening session other than `ownName` is open on this database (Signals names them switchyard:listen:<origin>). */
export async function otherListenerIsOpen(pool: pg.Pool, prefix: string, ownName: string): Promise<boolean> {
  const { rows } = await pool.query<{ open: boolean }>(
    `select exists (select from pg_stat_activity
                    where datname = current_database() and starts_with(application_name, $1) and application_name <> $2) as open`,
    [prefix, ownName]);
  return rows[0]!.open;
}
