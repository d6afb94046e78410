// The routing rules every routing stage applies, cached in each process. Every change, through
// the admin API or the SQL functions put_routing_rule / delete_routing_rule (or by hand), moves a
// version in the database in the same transaction (a trigger); the stage reads that version with
// each batch and reloads when it moved, so a change applies exactly to the messages routed after
// it commits, in every process. The config signal routing-rules drops the cached copy sooner.
// A stored rule whose policy does not check (possible only when written by hand in SQL) is left
// out and logged, so one bad row cannot stop routing.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
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

interface Loaded {
  version: string;
  rules: Promise<RoutingRule[]>;
}

export class RoutingRules {
  readonly #log: Logger;
  #loaded: Loaded | undefined;
  #settled: RoutingRule[] = [];

  constructor(log: Logger) {
    this.#log = log;
  }

  /** The rules last loaded, without asking the database (a guess to plan a batch's reads with). */
  peek(): RoutingRule[] {
    return this.#settled;
  }

  /** The rules of this version (read in the caller's transaction), from the cache when it has them. */
  current(db: Db, version: string): Promise<RoutingRule[]> {
    if (this.#loaded?.version !== version) {
      const rules = this.#load(db);
      const loaded: Loaded = { version, rules };
      this.#loaded = loaded;
      rules.then((settled) => (this.#settled = settled), () => {
        if (this.#loaded === loaded) this.#loaded = undefined; // a failed load is not kept
      });
    }
    return this.#loaded!.rules;
  }

  invalidate(): void {
    this.#loaded = undefined;
  }

  async #load(db: Db): Promise<RoutingRule[]> {
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
    return rules;
  }
}
