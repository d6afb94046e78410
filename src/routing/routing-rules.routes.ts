// Admin: routing rules (README, "Content routing"). A change applies to the messages routed after
// it commits, in every process (routing-rules.ts); onChange signals config routing-rules as well.
// The rule's author is the admin: its `to` addresses need no grant, and publishers need publish
// rights only on the address they sent to.
import { createRoute } from '@hono/zod-openapi';
import { requireAdmin } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Db } from '../db/database.ts';
import { bearer, createRouter, jsonBody, jsonResponse, requireJsonBody } from '../http/openapi.ts';
import { ApiError, problemResponses } from '../http/problem.ts';
import { ROUTING_RULES_MAX } from './routing-rules.ts';
import { deleteRoutingRule, findRoutingRule, listRoutingRules, upsertRoutingRule, type RoutingRuleRow } from './routing-rules.repository.ts';
import { RoutingRuleBodySchema, RoutingRuleDeletedSchema, RoutingRuleListSchema, RoutingRuleSchema, RuleParams } from './routing-rules.schemas.ts';

export function routingRulesRoutes(auth: Authenticator, db: Db, onChange: () => void) {
  const app = createRouter();
  app.use('/admin/routing-rules', requireAdmin(auth));
  app.use('/admin/routing-rules/*', requireAdmin(auth));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/routing-rules',
      tags: ['admin'],
      summary: 'List the routing rules',
      security: bearer,
      responses: { 200: jsonResponse(RoutingRuleListSchema, 'The rules, by name'), ...problemResponses(401, 403) },
    }),
    async (c) => c.json({ rules: (await listRoutingRules(db)).map(view) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/routing-rules/{name}',
      tags: ['admin'],
      summary: 'A routing rule',
      security: bearer,
      request: { params: RuleParams },
      responses: { 200: jsonResponse(RoutingRuleSchema, 'The rule'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const rule = await findRoutingRule(db, name);
      if (!rule) throw new ApiError('NotFound', `there is no routing rule ${name}`);
      return c.json(view(rule), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/admin/routing-rules/{name}',
      tags: ['admin'],
      summary: 'Create or replace a routing rule',
      description: `Messages published to an \`on\` address (any address when absent) that match \`match\` also reach the subscribers of the \`to\` addresses, once per recipient however many rules match; each copy says which rule brought it (\`via\`). At most ${ROUTING_RULES_MAX} rules. Applies to messages routed after the change.`,
      security: bearer,
      middleware: [requireJsonBody] as const,
      request: { params: RuleParams, body: jsonBody(RoutingRuleBodySchema) },
      responses: { 200: jsonResponse(RoutingRuleSchema, 'The rule as stored'), ...problemResponses(400, 401, 403, 413, 415) },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const body = c.req.valid('json');
      const existing = await listRoutingRules(db);
      if (existing.length >= ROUTING_RULES_MAX && !existing.some((rule) => rule.name === name)) {
        throw new ApiError('TooManyRoutingRules', `there are ${ROUTING_RULES_MAX} routing rules already: delete one first`);
      }
      const rule = await upsertRoutingRule(db, { name, match: body.match, to: dedupe(body.to), on: body.on ? dedupe(body.on) : null });
      onChange();
      return c.json(view(rule), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/admin/routing-rules/{name}',
      tags: ['admin'],
      summary: 'Delete a routing rule',
      security: bearer,
      request: { params: RuleParams },
      responses: { 200: jsonResponse(RoutingRuleDeletedSchema, 'Deleted (false if there was none)'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const deleted = await deleteRoutingRule(db, name);
      onChange();
      return c.json({ name, deleted }, 200);
    },
  );

  return app;
}

const dedupe = (addresses: string[]) => [...new Set(addresses)];

function view(rule: RoutingRuleRow) {
  return {
    name: rule.name, match: rule.match as Record<string, unknown>, to: rule.to_addresses, on: rule.on_addresses,
    created_at: rule.created_at.toISOString(), updated_at: rule.updated_at.toISOString(),
  };
}
