import { sql } from 'kysely';
import type { Db, Tx } from '../db/database.ts';

/** Whether `user` is a member of `group` (one primary-key lookup). */
export async function isGroupMember(db: Db, group: string, user: string): Promise<boolean> {
  const row = await db
    .selectFrom('switchyard.group_member')
    .select('user_name')
    .where('group_name', '=', group)
    .where('user_name', '=', user)
    .executeTakeFirst();
  return row !== undefined;
}

export async function listGroupMembers(db: Db, group: string): Promise<string[]> {
  const rows = await db
    .selectFrom('switchyard.group_member')
    .select('user_name')
    .where('group_name', '=', group)
    .orderBy('user_name')
    .execute();
  return rows.map((row) => row.user_name);
}

export async function insertGroupMember(db: Db, group: string, user: string): Promise<boolean> {
  const result = await db
    .insertInto('switchyard.group_member')
    .values({ group_name: group, user_name: user })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Removes a member and, with it, the group from the listen-to lists of that user's clients. */
export async function deleteGroupMember(tx: Tx, group: string, user: string): Promise<boolean> {
  const result = await tx
    .deleteFrom('switchyard.group_member')
    .where('group_name', '=', group)
    .where('user_name', '=', user)
    .executeTakeFirst();
  await sql`
    delete from switchyard.subscription s
    using switchyard.client c
    where s.client_id = c.id and c.name = ${user} and s.address = ${`group:${group}`}`.execute(tx);
  return Number(result.numDeletedRows) > 0;
}
