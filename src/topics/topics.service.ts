// Admin changes to topic policies and schemas. A change takes effect in every process at once
// (onChange signals config topic:<name>). Narrowing who may subscribe also unsubscribes the
// clients no longer granted, as removing a group member does: the rule holds for existing
// listeners, not only for future listen-to changes.
import type { Db } from '../db/database.ts';
import { TOPIC_ACTIONS } from '../db/schema.ts';
import { grantsToLikePatterns } from './topic-policies.ts';
import { compileTopicSchema } from './topic-schemas.ts';
import {
  deleteTopicSchema, deleteUngrantedSubscriptions, findTopicPolicy, findTopicSchema, replaceTopicPolicyAction, upsertTopicSchema,
  type TopicPolicy,
} from './topics.repository.ts';

export class TopicsService {
  readonly #db: Db;
  readonly #onChange: (topic: string) => void;

  constructor(db: Db, onChange: (topic: string) => void) {
    this.#db = db;
    this.#onChange = onChange;
  }

  policy(topic: string): Promise<TopicPolicy> {
    return findTopicPolicy(this.#db, topic);
  }

  /** Replaces the whole policy: an action absent or null is open. Returns it and how many were unsubscribed. */
  async replacePolicy(topic: string, change: Partial<TopicPolicy>): Promise<TopicPolicy & { unsubscribed: number }> {
    const policy: TopicPolicy = { publish: dedupe(change.publish), subscribe: dedupe(change.subscribe) };
    const unsubscribed = await this.#db.transaction().execute(async (tx) => {
      for (const action of TOPIC_ACTIONS) await replaceTopicPolicyAction(tx, topic, action, policy[action]);
      return policy.subscribe === null ? 0 : deleteUngrantedSubscriptions(tx, topic, grantsToLikePatterns(policy.subscribe));
    });
    this.#onChange(topic);
    return { ...policy, unsubscribed };
  }

  async schema(topic: string): Promise<unknown | undefined> {
    return findTopicSchema(this.#db, topic);
  }

  /** Stores a schema once it compiles (SchemaInvalid otherwise). */
  async putSchema(topic: string, schema: Record<string, unknown>): Promise<void> {
    compileTopicSchema(schema);
    await upsertTopicSchema(this.#db, topic, schema);
    this.#onChange(topic);
  }

  async deleteSchema(topic: string): Promise<boolean> {
    const deleted = await deleteTopicSchema(this.#db, topic);
    this.#onChange(topic);
    return deleted;
  }
}

function dedupe(grants: string[] | null | undefined): string[] | null {
  return grants == null ? null : [...new Set(grants)].sort();
}
