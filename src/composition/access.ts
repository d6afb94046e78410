// Who may do what: tokens, memberships, topic policies and schemas, routing rules. Each process
// caches them; a change anywhere signals config <kind>:<key> and every process drops its copy.
import { AdminSessions } from '../auth/admin-session.ts';
import { ensureAdminSessionKey } from '../auth/admin-session.repository.ts';
import { Authenticator } from '../auth/authenticator.ts';
import { AddressAccess } from '../auth/access.ts';
import { RateLimiter } from '../auth/rate-limiter.ts';
import { WaitLimits } from '../clients/wait-limits.ts';
import { GroupMembership } from '../groups/membership.ts';
import { onConfigChange } from '../notifications/config-changes.ts';
import type { Waiters } from '../queue/waiters.ts';
import { ROUTING_RULES_KEY, RoutingRules } from '../routing/routing-rules.ts';
import { TopicPolicies } from '../topics/topic-policies.ts';
import { TopicSchemas } from '../topics/topic-schemas.ts';
import type { Wiring } from './wiring.ts';

export type Access = Awaited<ReturnType<typeof wireAccess>>;

export async function wireAccess({ config, pools: { db }, signals, log, now }: Wiring, adminTokenHash: Buffer, waiters: Waiters) {
  const membership = new GroupMembership(db, config.authCacheMs);
  const policies = new TopicPolicies(db, config.authCacheMs);
  const schemas = new TopicSchemas(db, config.authCacheMs);
  const routingRules = new RoutingRules(log.child({ component: 'routing-rules' }));
  const limiterClock = now ? () => now().getTime() : undefined;
  const rateLimiter = config.rateLimit.perSecond > 0 ? new RateLimiter(config.rateLimit.perSecond, config.rateLimit.burst, limiterClock) : undefined;
  const adminSessions = new AdminSessions(await ensureAdminSessionKey(db), adminTokenHash, config.dashboard.sessionHours * 3_600_000);
  const authFailures = config.authFailures.perSecond > 0 ? new RateLimiter(config.authFailures.perSecond, config.authFailures.burst, limiterClock) : undefined;
  const auth = new Authenticator(db, adminTokenHash, config.authCacheMs, rateLimiter, adminSessions, authFailures);
  const addresses = new AddressAccess(membership, policies);
  const waitLimits = new WaitLimits({ streams: config.waits.maxStreams, waits: config.waits.maxWaits });

  onConfigChange(signals, {
    group: (groups) => membership.invalidate(groups),
    topic: (topics) => {
      policies.invalidate(topics);
      schemas.invalidate(topics);
    },
    [ROUTING_RULES_KEY]: () => routingRules.invalidate(),
    client: (clientIds) => {
      auth.invalidateClients(clientIds);
      // Waiting receivers of a revoked or rotated client look again now, find their token no
      // longer valid and end (the heartbeat would do it too, later).
      waiters.wake(clientIds);
    },
  });
  return { membership, policies, schemas, routingRules, auth, addresses, waitLimits };
}
