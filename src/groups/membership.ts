// Who is in which group, asked on every publish to and subscription of a group. Answers are
// cached for a short time; a membership change anywhere drops the group's cached answers at once
// (config signal group:<name>), and the time limit covers a missed notification.
import { LRUCache } from 'lru-cache';
import type { Db } from '../db/database.ts';
import { isGroupMember } from './groups.repository.ts';

/** (group, user) answers cached at most; past it the least recently used one makes room. */
const MAX_CACHED_ANSWERS = 100_000;

/** One key per (group, user); a space is in no name, so the group is what comes before the first. */
const answerKey = (group: string, user: string) => `${group} ${user}`;

export class GroupMembership {
  readonly #db: Db;
  /** Undefined: not cached (a cache time of 0). */
  readonly #cache: LRUCache<string, boolean> | undefined;

  constructor(db: Db, cacheMs: number) {
    this.#db = db;
    this.#cache = cacheMs > 0 ? new LRUCache({ max: MAX_CACHED_ANSWERS, ttl: cacheMs }) : undefined;
  }

  async isMember(group: string, user: string): Promise<boolean> {
    const cached = this.#cache?.get(answerKey(group, user));
    if (cached !== undefined) return cached;
    const member = await isGroupMember(this.#db, group, user);
    this.#cache?.set(answerKey(group, user), member);
    return member;
  }

  /** Forgets cached answers for these groups (all groups when undefined). */
  invalidate(groups: string[] | undefined): void {
    if (groups === undefined) return this.#cache?.clear();
    const prefixes = groups.map((group) => answerKey(group, ''));
    const dropped: string[] = [];
    this.#cache?.forEach((_, key) => { if (prefixes.some((prefix) => key.startsWith(prefix))) dropped.push(key); });
    for (const key of dropped) this.#cache?.delete(key);
  }
}
