// Who may publish to and subscribe to a topic, asked on every publish to a topic and every change
// of a listen-to list. A topic without a policy for an action is open to every authenticated
// client; with one, only clients whose name matches a grant: an exact name, or a pattern where *
// stands for any run of name characters (`svc-*`, `*-bot`, `*`). An empty grant list lets no
// client do it. Answers are cached like group membership (membership.ts): a change anywhere drops
// the topic's entry at once (config signal topic:<name>), and the time limit covers a lost NOTIFY.
import type { Db } from '../db/database.ts';
import type { TopicAction } from '../db/schema.ts';
import { findTopicPolicy } from './topics.repository.ts';

export const GRANT_PATTERN = /^[A-Za-z0-9_.*-]{1,64}$/;
export const GRANTS_MAX = 100;
const MAX_CACHED_TOPICS = 10_000;

/** Grants per action; null: no policy, open to every authenticated client. */
export type TopicPolicy = Record<TopicAction, string[] | null>;

interface CachedPolicy {
  policy: TopicPolicy;
  matchers: Record<TopicAction, RegExp | null>;
  expiresAt: number;
}

/** The grants as one anchored expression; names are [A-Za-z0-9_.-], so * never crosses anything else. */
export function grantsMatcher(grants: string[]): RegExp {
  if (grants.length === 0) return /(?!)/;
  const alternatives = grants.map((grant) => grant.replace(/\./g, '\\.').replace(/\*/g, '[A-Za-z0-9_.-]*'));
  return new RegExp(`^(?:${alternatives.join('|')})$`);
}

/** The same grants as SQL LIKE patterns (default escape \), for set-based checks. */
export function grantsToLikePatterns(grants: string[]): string[] {
  return grants.map((grant) => grant.replace(/_/g, '\\_').replace(/\*/g, '%'));
}

export class TopicPolicies {
  readonly #db: Db;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, CachedPolicy>();

  constructor(db: Db, cacheMs: number) {
    this.#db = db;
    this.#cacheMs = cacheMs;
  }

  async allows(topic: string, action: TopicAction, clientName: string): Promise<boolean> {
    const matcher = (await this.#load(topic)).matchers[action];
    return matcher === null || matcher.test(clientName);
  }

  async policy(topic: string): Promise<TopicPolicy> {
    return (await this.#load(topic)).policy;
  }

  /** Forgets cached policies of these topics (all when undefined). */
  invalidate(topics: string[] | undefined): void {
    if (topics === undefined) this.#cache.clear();
    else for (const topic of topics) this.#cache.delete(topic);
  }

  async #load(topic: string): Promise<CachedPolicy> {
    const now = Date.now();
    const cached = this.#cache.get(topic);
    if (cached && cached.expiresAt > now) return cached;
    const policy = await findTopicPolicy(this.#db, topic);
    const entry: CachedPolicy = {
      policy,
      matchers: {
        publish: policy.publish && grantsMatcher(policy.publish),
        subscribe: policy.subscribe && grantsMatcher(policy.subscribe),
      },
      expiresAt: now + this.#cacheMs,
    };
    if (this.#cacheMs > 0) {
      if (this.#cache.size >= MAX_CACHED_TOPICS && !this.#cache.has(topic)) this.#cache.clear();
      this.#cache.set(topic, entry);
    }
    return entry;
  }
}
