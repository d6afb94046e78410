import { sql } from 'kysely';
import type { Db, Tx } from '../db/database.ts';
import type { TopicAction } from '../db/schema.ts';

/** Grants per action; null: no policy, open to every authenticated client. */
export type TopicPolicy = Record<TopicAction, string[] | null>;

/** The grants of each action on this topic; null for an action without a policy (open). */
export async function findTopicPolicy(db: Db, topic: string): Promise<TopicPolicy> {
  const rows = await db.selectFrom('switchyard.topic_policy').select(['action', 'grants']).where('topic', '=', topic).execute();
  const policy: TopicPolicy = { publish: null, subscribe: null };
  for (const row of rows) policy[row.action] = row.grants;
  return policy;
}

/** Sets one action's grants (an upsert), or opens the action (null: the row is deleted). */
export async function replaceTopicPolicyAction(tx: Tx, topic: string, action: TopicAction, grants: string[] | null): Promise<void> {
  if (grants === null) {
    await tx.deleteFrom('switchyard.topic_policy').where('topic', '=', topic).where('action', '=', action).execute();
    return;
  }
  await tx
    .insertInto('switchyard.topic_policy')
    .values({ topic, action, grants })
    .onConflict((oc) => oc.columns(['topic', 'action']).doUpdateSet({ grants, updated_at: sql`now()` }))
    .execute();
}

/**
 * Unsubscribes from topic:<topic> every client whose name matches none of these LIKE patterns
 * (the grants, translated by the caller), as removing a group member unsubscribes its clients.
 * Returns how many subscriptions went.
 */
export async function deleteUngrantedSubscriptions(tx: Tx, topic: string, likePatterns: string[]): Promise<number> {
  const result = await sql`
    delete from switchyard.subscription s
    using switchyard.client c
    where s.client_id = c.id and s.address = ${`topic:${topic}`}
      and not (c.name like any (${likePatterns}::text[]))`.execute(tx);
  return Number(result.numAffectedRows ?? 0);
}

export async function findTopicSchema(db: Db, topic: string): Promise<unknown | undefined> {
  const row = await db.selectFrom('switchyard.topic_schema').select('schema').where('topic', '=', topic).executeTakeFirst();
  return row?.schema;
}

export async function upsertTopicSchema(db: Db, topic: string, schema: unknown): Promise<void> {
  const text = JSON.stringify(schema);
  await db
    .insertInto('switchyard.topic_schema')
    .values({ topic, schema: text })
    .onConflict((oc) => oc.column('topic').doUpdateSet({ schema: text, updated_at: sql`now()` }))
    .execute();
}

export async function deleteTopicSchema(db: Db, topic: string): Promise<boolean> {
  const result = await db.deleteFrom('switchyard.topic_schema').where('topic', '=', topic).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
