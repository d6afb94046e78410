import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface RoutingRuleRow {
  name: string;
  /** A filter policy, checked by the service when it was stored (not when written by SQL). */
  match: unknown;
  to_addresses: string[];
  /** null: messages published to any address. */
  on_addresses: string[] | null;
  created_at: Date;
  updated_at: Date;
}

const RULE_COLUMNS = sql.raw('name, match, to_addresses, on_addresses, created_at, updated_at');

export async function listRoutingRules(db: Db): Promise<RoutingRuleRow[]> {
  const result = await sql<RoutingRuleRow>`select ${RULE_COLUMNS} from switchyard.routing_rule order by name`.execute(db);
  return result.rows;
}

export async function findRoutingRule(db: Db, name: string): Promise<RoutingRuleRow | undefined> {
  const result = await sql<RoutingRuleRow>`select ${RULE_COLUMNS} from switchyard.routing_rule where name = ${name}`.execute(db);
  return result.rows[0];
}

/** Creates or replaces the rule; returns it as stored. */
export async function upsertRoutingRule(
  db: Db, rule: { name: string; match: unknown; to: string[]; on: string[] | null },
): Promise<RoutingRuleRow> {
  const result = await sql<RoutingRuleRow>`
    insert into switchyard.routing_rule (name, match, to_addresses, on_addresses)
    values (${rule.name}, ${JSON.stringify(rule.match)}::jsonb, ${rule.to}::text[], ${rule.on}::text[])
    on conflict (name) do update
      set match = excluded.match, to_addresses = excluded.to_addresses, on_addresses = excluded.on_addresses, updated_at = now()
    returning ${RULE_COLUMNS}`.execute(db);
  return result.rows[0]!;
}

/** Whether there was such a rule. */
export async function deleteRoutingRule(db: Db, name: string): Promise<boolean> {
  const result = await sql`delete from switchyard.routing_rule where name = ${name}`.execute(db);
  return Number(result.numAffectedRows ?? 0) > 0;
}
