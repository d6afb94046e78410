// The routing rules every routing stage applies, cached in each process. A change anywhere (the
// admin API, or the SQL functions put_routing_rule / delete_routing_rule) signals config
// routing-rules and every process drops its copy at once; the time limit covers a lost NOTIFY.
// A stored rule whose policy does not check (possible only when written by hand in SQL) is left
// out and logged, so one bad row cannot stop routing.
import type { Db } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { policyReadsContent, type FilterPolicy } from './filter-policy.ts';
import { policyLimitProblem, policyProblems } from './filter-policy.schemas.ts';
import { listRoutingRules } from './routing-rules.repository.ts';

/** The config signal key that says "routing rules changed". */
export const ROUTING_RULES_KEY = 'routing-rules';
/** At most this many rules: each message is checked against every rule whose `on` it matches. */
export const ROUTING_RULES_MAX = 100;

export interface RoutingRule {
  name: string;
  match: FilterPolicy;
  to: string[];
  /** undefined: any address. */
  on: ReadonlySet<string> | undefined;
  readsContent: boolean;
}

export class RoutingRules {
  readonly #cacheMs: number;
  readonly #log: Logger;
  #rules: RoutingRule[] | undefined;
  #expiresAt = 0;
  #generation = 0; // a load that began before an invalidation must not be kept
  #loading: Promise<RoutingRule[]> | undefined;

  constructor(cacheMs: number, log: Logger) {
    this.#cacheMs = cacheMs;
    this.#log = log;
  }

  /** The rules in name order, read through `db` when the cached copy is missing or old. */
  async current(db: Db): Promise<RoutingRule[]> {
    if (this.#rules !== undefined && Date.now() < this.#expiresAt) return this.#rules;
    if (this.#loading === undefined) {
      this.#loading = this.#load(db).finally(() => (this.#loading = undefined));
    }
    return this.#loading;
  }

  invalidate(): void {
    this.#rules = undefined;
    this.#loading = undefined;
    this.#generation += 1;
  }

  async #load(db: Db): Promise<RoutingRule[]> {
    const generation = this.#generation;
    const rules: RoutingRule[] = [];
    for (const row of await listRoutingRules(db)) {
      const problem = policyLimitProblem(row.match) ?? policyProblems(row.match)[0]?.message;
      if (problem !== undefined) {
        this.#log.warn('routing rule skipped: its policy does not check', { rule: row.name, problem });
        continue;
      }
      const match = row.match as FilterPolicy;
      rules.push({ name: row.name, match, to: row.to_addresses, on: row.on_addresses ? new Set(row.on_addresses) : undefined, readsContent: policyReadsContent(match) });
    }
    if (generation === this.#generation) {
      this.#rules = rules;
      this.#expiresAt = Date.now() + this.#cacheMs;
    }
    return rules;
  }
}
