// Holding up group commit on purpose: a transaction that locks the message log, so that what
// waits for a flush (and what is in flight) is decided by the test, not by timing.
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';

/** Runs `during` while a transaction blocks every insert into the log; returns its result. */
export async function withLogLocked<T>(db: Db, during: () => Promise<T>): Promise<T> {
  let unlock: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (unlock = resolve));
  let locked: () => void = () => undefined;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holder = db.transaction().execute(async (tx) => {
    await sql`lock table switchyard.message in share mode`.execute(tx);
    locked();
    await released;
  });
  await isLocked;
  try {
    return await during();
  } finally {
    unlock();
    await holder;
  }
}
