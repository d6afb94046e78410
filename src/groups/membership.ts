// Who is in which group, asked on every publish to and subscription of a group. Answers are
// cached for a short time; a membership change anywhere drops the group's cached answers at once
// (config signal group:<name>), and the time limit covers a missed notification.
import type { Db } from '../db/database.ts';
import { isGroupMember } from './groups.repository.ts';

const MAX_CACHED_GROUPS = 10_000;

export class GroupMembership {
  readonly #db: Db;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, Map<string, { member: boolean; expiresAt: number }>>();

  constructor(db: Db, cacheMs: number) {
    this.#db = db;
    this.#cacheMs = cacheMs;
  }

  async isMember(group: string, user: string): Promise<boolean> {
    const now = Date.now();
    const cached = this.#cache.get(group)?.get(user);
    if (cached && cached.expiresAt > now) return cached.member;
    const member = await isGroupMember(this.#db, group, user);
    if (this.#cacheMs > 0) {
      if (this.#cache.size >= MAX_CACHED_GROUPS && !this.#cache.has(group)) this.#cache.clear();
      let users = this.#cache.get(group);
      if (!users) this.#cache.set(group, (users = new Map()));
      users.set(user, { member, expiresAt: now + this.#cacheMs });
    }
    return member;
  }

  /** Forgets cached answers for these groups (all groups when undefined). */
  invalidate(groups: string[] | undefined): void {
    if (groups === undefined) this.#cache.clear();
    else for (const group of groups) this.#cache.delete(group);
  }
}
