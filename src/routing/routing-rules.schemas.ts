import { z } from '@hono/zod-openapi';
import { addressSchema, NameSchema } from '../addresses/address.ts';
import { filterPolicySchema } from './filter-policy.schemas.ts';

/** Addresses a rule copies to, and addresses it listens on: at most this many each (also a CHECK in SQL). */
export const RULE_ADDRESSES_MAX = 20;

export const RuleParams = z.object({
  name: NameSchema.openapi({ param: { name: 'name', in: 'path' }, example: 'big-orders-to-billing' }),
});

const Addresses = z.array(addressSchema()).min(1).max(RULE_ADDRESSES_MAX);

export const RoutingRuleBodySchema = z
  .strictObject({
    match: filterPolicySchema(),
    to: Addresses.openapi({ description: `1-${RULE_ADDRESSES_MAX} addresses whose subscribers also receive matching messages`, example: ['topic:billing', 'group:oncall'] }),
    on: Addresses.nullable().optional().openapi({ description: `1-${RULE_ADDRESSES_MAX} addresses the rule watches; absent or null: messages to any address`, example: ['topic:orders'] }),
  })
  .openapi('RoutingRuleChange');

export const RoutingRuleSchema = z
  .object({
    name: z.string(),
    match: z.record(z.string(), z.unknown()).openapi({ description: 'the filter policy' }),
    to: z.array(z.string()),
    on: z.array(z.string()).nullable().openapi({ description: 'null: messages to any address' }),
    created_at: z.string().openapi({ format: 'date-time' }),
    updated_at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('RoutingRule');

export const RoutingRuleListSchema = z.object({ rules: z.array(RoutingRuleSchema) }).openapi('RoutingRules');
export const RoutingRuleDeletedSchema = z.object({ name: z.string(), deleted: z.boolean() }).openapi('RoutingRuleDeleted');
