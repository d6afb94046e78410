// Who may publish to and subscribe to a topic, asked on every publish to a topic and every change
// of a listen-to list. A topic without a policy for an action is open to every authenticated
// client; with one, only clients whose name matches a grant: an exact name, or a pattern where *
// stands for any run of name characters (`svc-*`, `*-bot`, `*`). An empty grant list lets no
// client do it. Answers are cached like group membership (membership.ts): a change anywhere drops
// the topic's entry at once (config signal topic:<name>), and the time limit covers a lost NOTIFY.
import { LRUCache } from 'lru-cache';
import type { Db } from '../db/database.ts';
import type { TopicAction } from '../db/schema.ts';
import { findTopicPolicy, type TopicPolicy } from './topics.repository.ts';

export const GRANT_PATTERN = /^[A-Za-z0-9_.*-]{1,64}$/;
export const GRANTS_MAX = 100;
/** Topics cached at most; past it the least recently used one makes room. */
const MAX_CACHED_TOPICS = 10_000;

interface CachedPolicy {
  policy: TopicPolicy;
  matchers: Record<TopicAction, GrantsMatcher | null>;
}

export interface GrantsMatcher {
  test(name: string): boolean;
}

/** Characters a * stands for: those of client names. */
const NAME_CHARACTERS = /^[A-Za-z0-9_.-]*$/;

/**
 * Whether a name matches any of the grants. Not a RegExp: `*a*a*a*a*a*a*b` compiled to one
 * backtracks for seconds on a long name. Each grant is its literal pieces between stars instead:
 * the first must start the name, the last end it, and the others are found in order, each at
 * its leftmost place after the one before (leftmost is never worse), so a test costs at most
 * name length x grant length, without backtracking.
 */
export function grantsMatcher(grants: string[]): GrantsMatcher {
  const globs = grants.map((grant) => grant.split('*'));
  return { test: (name) => NAME_CHARACTERS.test(name) && globs.some((pieces) => matchesGlob(pieces, name)) };
}

/** `pieces` is a grant split at its stars: one piece means no star, an exact name. */
function matchesGlob(pieces: string[], name: string): boolean {
  const first = pieces[0]!;
  if (pieces.length === 1) return name === first;
  const last = pieces[pieces.length - 1]!;
  if (name.length < first.length + last.length || !name.startsWith(first) || !name.endsWith(last)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = name.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

/** The same grants as SQL LIKE patterns (default escape \), for set-based checks. */
export function grantsToLikePatterns(grants: string[]): string[] {
  return grants.map((grant) => grant.replace(/_/g, '\\_').replace(/\*/g, '%'));
}

export class TopicPolicies {
  readonly #db: Db;
  /** Undefined: not cached (a cache time of 0). */
  readonly #cache: LRUCache<string, CachedPolicy> | undefined;

  constructor(db: Db, cacheMs: number) {
    this.#db = db;
    this.#cache = cacheMs > 0 ? new LRUCache({ max: MAX_CACHED_TOPICS, ttl: cacheMs }) : undefined;
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
    if (topics === undefined) this.#cache?.clear();
    else for (const topic of topics) this.#cache?.delete(topic);
  }

  async #load(topic: string): Promise<CachedPolicy> {
    const cached = this.#cache?.get(topic);
    if (cached) return cached;
    const policy = await findTopicPolicy(this.#db, topic);
    const entry: CachedPolicy = {
      policy,
      matchers: {
        publish: policy.publish && grantsMatcher(policy.publish),
        subscribe: policy.subscribe && grantsMatcher(policy.subscribe),
      },
    };
    this.#cache?.set(topic, entry);
    return entry;
  }
}
