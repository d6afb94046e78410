// Content routing against PostgreSQL, end to end: subscription filters for every operator of the
// language on both scopes, policies refused with the key at fault, routing rules (with filters,
// across groups, once per recipient) and rule changes applying to the very next message routed.
// Routing runs in its own process here, apart from the process that takes the changes.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { POLICY_MAX_VALUES } from '../../src/routing/filter-policy.schemas.ts';
import { ROUTING_RULES_MAX } from '../../src/routing/routing-rules.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { countRows, expectProblem } from '../helpers/problems.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let database: TestDatabase;
let service: TestService; // router and push
let router: TestService; // the routing stage alone
let pub: TestClient;
let shop: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, { SWITCHYARD_ROLES: 'router,persistence,push' });
  router = await startTestService(database.url, { SWITCHYARD_ROLES: 'routing' });
  pub = await registerClient(service.admin, 'pub');
  shop = await registerClient(service.admin, 'shop');
});

afterAll(async () => {
  await router?.stop();
  await service?.stop();
  await database?.drop();
});

interface Received { id: string; payload: unknown; via?: string }

/** Everything in the client's queue now (received, so leased). */
async function inbox(client: TestClient): Promise<Received[]> {
  const reply = await client.api.get('/v1/inbox?wait=0&max=100');
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.messages;
}

/** Waits until `client` has received `count` messages in all, returning them. */
async function receiveAll(client: TestClient, count: number): Promise<Received[]> {
  const got: Received[] = [];
  await eventually(async () => {
    got.push(...(await inbox(client)));
    return got.length >= count ? true : undefined;
  }, 10_000, `${client.name} to receive ${count}`);
  return got;
}

describe('subscription filters', () => {
  test('every operator, on attributes and on the payload, lets exactly the matching messages in', async () => {
    const filters: Record<string, unknown> = {
      'f-exact': { type: ['order.created'] },
      'f-number': { payload: { total: [100] } },
      'f-list': { type: ['order.created', 'order.cancelled'] },
      'f-prefix': { type: [{ prefix: 'order.' }] },
      'f-suffix': { payload: { sku: [{ suffix: '-xl' }] } },
      'f-icase': { headers: { region: [{ 'equals-ignore-case': 'EU-WEST' }] } },
      'f-but': { type: [{ 'anything-but': 'order.created' }] },
      'f-but-list': { payload: { status: [{ 'anything-but': ['paid', 'refunded'] }] } },
      'f-but-prefix': { headers: { tier: [{ 'anything-but': { prefix: 'free' } }] } },
      'f-range': { payload: { total: [{ numeric: ['>=', 100, '<', 500] }] } },
      'f-exists': { payload: { coupon: [{ exists: true }] } },
      'f-absent': { headers: { trace: [{ exists: false }] } },
      'f-or': { $or: [{ type: ['refund'] }, { payload: { total: [{ numeric: ['>', 1000] }] } }] },
      'f-nested': { payload: { customer: { address: { country: ['NL'] } } } },
      'f-from': { from: [{ prefix: 'user:sho' }] },
      'f-to': { to: ['topic:ops'] },
      'f-both': { type: ['order.created'], payload: { total: [{ numeric: ['>=', 100] }] } },
      'f-literals': { payload: { gift: [true], coupon: [null] } },
    };
    const clients = new Map<string, TestClient>();
    for (const [name, filter] of Object.entries(filters)) {
      clients.set(name, await registerClient(service.admin, name, [{ address: 'topic:ops', filter }]));
    }
    const plain = await registerClient(service.admin, 'f-none', ['topic:ops']);

    const m1 = await publish(pub, {
      to: 'topic:ops', type: 'order.created', headers: { region: 'eu-west', tier: 'free-trial' },
      payload: { total: 100, sku: 'shirt-xl', status: 'paid', customer: { address: { country: 'NL' } } },
    });
    const m2 = await publish(pub, {
      to: 'topic:ops', type: 'order.cancelled', headers: { region: 'us-east', tier: 'pro', trace: 't1' },
      payload: { total: 40, sku: 'shirt-m', status: 'open', coupon: null, gift: true },
    });
    const m3 = await publish(shop, { to: 'topic:ops', type: 'refund', payload: { total: 1500, status: 'refunded', customer: { address: { country: 'DE' } } } });
    const m4 = await publish(shop, { to: 'topic:ops', headers: { region: 'EU-West' }, payload: { total: [7, 250], sku: ['a-xl', 'b'] } });
    const m5 = await publish(pub, { to: 'topic:ops', type: 'Order.Created', payload: 'a plain string' });
    // One conversation is one lane, routed in order: once the last is in, all are.
    expect((await receiveAll(plain, 5)).map((m) => m.id)).toEqual([m1, m2, m3, m4, m5]);

    const expected: Record<string, string[]> = {
      'f-exact': [m1], 'f-number': [m1], 'f-list': [m1, m2], 'f-prefix': [m1, m2], 'f-suffix': [m1, m4], 'f-icase': [m1, m4],
      'f-but': [m2, m3, m5], 'f-but-list': [m2], 'f-but-prefix': [m2], 'f-range': [m1, m4], 'f-exists': [m2],
      'f-absent': [m1, m3, m4, m5], 'f-or': [m3], 'f-nested': [m1], 'f-from': [m3, m4], 'f-to': [m1, m2, m3, m4, m5],
      'f-both': [m1], 'f-literals': [m2],
    };
    const actual: Record<string, string[]> = {};
    for (const [name, client] of clients) actual[name] = (await inbox(client)).map((m) => m.id);
    expect(actual).toEqual(expected);
  });

  test('show in GET /v1/clients/me, the admin API and SQL; a change applies to messages routed after it', async () => {
    const filter = { payload: { level: [{ numeric: ['>=', 3] }] } };
    const watcher = await registerClient(service.admin, 'watcher', ['topic:news', { address: 'topic:alerts', filter }]);
    const listenTo = [{ address: 'topic:alerts', filter }, 'topic:news', 'user:watcher'];
    expect((await watcher.api.get('/v1/clients/me')).body.listen_to).toEqual(listenTo);
    expect((await service.admin.get(`/v1/admin/clients/${watcher.id}`)).body.listen_to).toEqual(listenTo);
    const rows = await sql<{ address: string; filter: unknown }>`
      select address, filter from switchyard.subscriptions where client_name = 'watcher' order by address`.execute(database.db);
    expect(rows.rows).toEqual([{ address: 'topic:alerts', filter }, { address: 'topic:news', filter: null }, { address: 'user:watcher', filter: null }]);

    const low = await publish(pub, { to: 'topic:alerts', payload: { level: 1 } });
    const high = await publish(pub, { to: 'topic:alerts', payload: { level: 5 } });
    expect((await receiveAll(watcher, 1)).map((m) => m.id)).toEqual([high]);

    const changed = await watcher.api.put('/v1/clients/me/listen-to', { listen_to: [{ address: 'topic:alerts', filter: { payload: { level: [{ numeric: ['<', 3] }] } } }] });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const lowAgain = await publish(pub, { to: 'topic:alerts', payload: { level: 2 } });
    await publish(pub, { to: 'topic:alerts', payload: { level: 4 } });
    const marker = await publish(pub, { to: 'topic:alerts', payload: { level: 0 } });
    // Only messages routed after the change are filtered by it: `low` stays undelivered.
    expect((await receiveAll(watcher, 2)).map((m) => m.id)).toEqual([lowAgain, marker]);
    expect((await inbox(watcher)).map((m) => m.id)).not.toContain(low);
  });

  test('bad policies are refused naming the key at fault, and nothing is stored', async () => {
    const before = await countRows(database.db);
    expectProblem(await service.admin.post('/v1/clients', { name: 'bad', listen_to: ['topic:a', { address: 'topic:b', filter: { payload: { total: [{ numeric: ['>', 'ten'] }] } } }] }),
      400, 'FilterPolicyInvalid', 'listen_to.1.filter.payload.total.0');
    expectProblem(await service.admin.post('/v1/clients', { name: 'bad', listen_to: [{ address: 'topic:b', filter: { body: { total: [1] } } }] }),
      400, 'FilterPolicyInvalid', 'listen_to.0.filter.body');
    expectProblem(await service.admin.post('/v1/clients', { name: 'bad', listen_to: [{ address: 'topic:b', filter: { type: [{ regex: '^(a+)+$' }] } }] }),
      400, 'FilterPolicyInvalid', 'listen_to.0.filter.type.0');
    const atLimit = { payload: { n: Array.from({ length: POLICY_MAX_VALUES }, (_, i) => i) } };
    const overLimit = { payload: { n: Array.from({ length: POLICY_MAX_VALUES + 1 }, (_, i) => i) } };
    expectProblem(await service.admin.post('/v1/clients', { name: 'bad', listen_to: [{ address: 'topic:b', filter: overLimit }] }),
      400, 'FilterPolicyTooLarge', 'listen_to.0.filter');
    expectProblem(await service.admin.post('/v1/clients', { name: 'bad', listen_to: ['topic:b', { address: 'topic:b', filter: { type: ['x'] } }] }),
      400, 'ValidationFailed', 'listen_to.1');
    expectProblem(await pub.api.put('/v1/clients/me/listen-to', { listen_to: [{ address: 'topic:b', filter: { type: 'x' } }] }),
      400, 'FilterPolicyInvalid', 'listen_to.0.filter.type');
    // An address with a filter is authorized like a plain one.
    expectProblem(await pub.api.put('/v1/clients/me/listen-to', { listen_to: ['topic:b', { address: 'group:nobody', filter: { type: ['x'] } }] }),
      403, 'ListenToForbidden', 'listen_to.1');
    expectProblem(await service.admin.put('/v1/admin/routing-rules/bad', { match: { $or: [] }, to: ['topic:b'] }), 400, 'FilterPolicyInvalid', 'match.$or');
    expectProblem(await service.admin.put('/v1/admin/routing-rules/bad', { match: { type: ['x'] }, to: ['nowhere'] }), 400, 'ValidationFailed', 'to.0');
    expectProblem(await service.admin.put('/v1/admin/routing-rules/bad', { match: { type: ['x'] }, to: [] }), 400, 'ValidationFailed', 'to');
    expect(await countRows(database.db)).toEqual(before);
    expect((await pub.api.get('/v1/clients/me')).body.listen_to).toEqual(['user:pub']);
    expect((await service.admin.get('/v1/admin/routing-rules')).body.rules).toEqual([]);
    // The edge itself is accepted.
    const edge = await registerClient(service.admin, 'edge', [{ address: 'topic:b', filter: atLimit }]);
    expect((await edge.api.get('/v1/clients/me')).body.listen_to).toEqual([{ address: 'topic:b', filter: atLimit }, 'user:edge']);
  });
});

describe('routing rules', () => {
  test('copy matching messages to the members of a group the sender is not in, saying which rule (via)', async () => {
    expect((await service.admin.put('/v1/admin/groups/oncall/members/ops1', undefined)).status).toBe(200);
    const ops1 = await registerClient(service.admin, 'ops1', ['group:oncall']);
    expectProblem(await pub.api.post('/v1/messages', { to: 'group:oncall', payload: 1 }), 403, 'NotAGroupMember');
    const put = await service.admin.put('/v1/admin/routing-rules/big-orders', {
      match: { payload: { total: [{ numeric: ['>=', 1000] }] } }, to: ['group:oncall'], on: ['topic:orders'],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ name: 'big-orders', to: ['group:oncall'], on: ['topic:orders'] });

    const big = await publish(pub, { to: 'topic:orders', payload: { total: 5000 } });
    await publish(pub, { to: 'topic:orders', payload: { total: 10 } });
    await publish(pub, { to: 'topic:elsewhere', payload: { total: 9000 } }); // not an `on` address
    const marker = await publish(pub, { to: 'topic:orders', payload: { total: 1000 } });
    const got = await receiveAll(ops1, 2);
    expect(got.map((m) => [m.id, m.via])).toEqual([[big, 'big-orders'], [marker, 'big-orders']]);
    expect(await inbox(ops1)).toEqual([]);
    expect((await service.admin.delete('/v1/admin/routing-rules/big-orders')).body).toEqual({ name: 'big-orders', deleted: true });
  });

  test('a rule and a filter together: the subscriber filter applies to copies the rule brings', async () => {
    const billing = await registerClient(service.admin, 'billing', [{ address: 'topic:billing', filter: { headers: { currency: ['EUR'] } } }]);
    await service.admin.put('/v1/admin/routing-rules/created-to-billing', { match: { type: ['order.created'] }, to: ['topic:billing'], on: ['topic:shop'] });
    const eur = await publish(pub, { to: 'topic:shop', type: 'order.created', headers: { currency: 'EUR' }, payload: 1 });
    await publish(pub, { to: 'topic:shop', type: 'order.created', headers: { currency: 'USD' }, payload: 2 });
    await publish(pub, { to: 'topic:shop', type: 'order.paid', headers: { currency: 'EUR' }, payload: 3 });
    const direct = await publish(pub, { to: 'topic:billing', headers: { currency: 'EUR' }, payload: 4 });
    const got = await receiveAll(billing, 2);
    expect(got.map((m) => [m.id, m.via])).toEqual([[eur, 'created-to-billing'], [direct, undefined]]);
    expect(await inbox(billing)).toEqual([]);
    await service.admin.delete('/v1/admin/routing-rules/created-to-billing');
  });

  test('a recipient gets a message once however many rules bring it, from its own address first', async () => {
    await service.admin.put('/v1/admin/routing-rules/r-a', { match: { type: ['audit.me'] }, to: ['topic:audit', 'topic:ledger'] });
    await service.admin.put('/v1/admin/routing-rules/r-b', { match: { payload: { amount: [{ exists: true }] } }, to: ['topic:ledger', 'topic:audit'] });
    const both = await registerClient(service.admin, 'u-both', ['topic:pay', 'topic:audit', 'topic:ledger']);
    const copies = await registerClient(service.admin, 'u-copies', ['topic:audit', { address: 'topic:ledger', filter: { type: [{ prefix: 'audit' }] } }]);
    const id = await publish(pub, { to: 'topic:pay', type: 'audit.me', payload: { amount: 3 } });
    expect((await receiveAll(both, 1)).map((m) => [m.id, m.via])).toEqual([[id, undefined]]);
    expect((await receiveAll(copies, 1)).map((m) => [m.id, m.via])).toEqual([[id, 'r-a']]);
    const rows = await sql<{ client_id: string; n: number }>`
      select client_id::text, count(*)::int as n from switchyard.delivery where message_id = ${id} group by client_id order by client_id`.execute(database.db);
    expect(rows.rows).toEqual([{ client_id: both.id, n: 1 }, { client_id: copies.id, n: 1 }]);
    await service.admin.delete('/v1/admin/routing-rules/r-a');
    await service.admin.delete('/v1/admin/routing-rules/r-b');
  });

  test('a change, from the API or SQL, applies to the next message the routing process routes; a bad hand-written rule is skipped', async () => {
    const audit = await registerClient(service.admin, 'auditor', ['topic:audit-log']);
    await registerClient(service.admin, 'misc-sink', ['topic:misc']); // so that routing leaves a trace
    /** Publishes to topic:misc and waits until the routing process has routed it. */
    const publishRouted = async (message: Record<string, unknown>) => {
      const id = await publish(pub, { to: 'topic:misc', ...message });
      await eventually(async () => ((await sql`select 1 from switchyard.delivery where message_id = ${id}`.execute(database.db)).rows.length > 0 || undefined), 10_000, 'routing');
      return id;
    };
    await publishRouted({ type: 'audit', payload: 'before any rule' }); // the routing process has cached "no rules"
    expect(await inbox(audit)).toEqual([]);

    // From SQL: a rule and, beside it, a hand-written one the service would refuse.
    await sql`select switchyard.put_routing_rule('from-sql', '{"type": ["audit"]}'::jsonb, array['topic:audit-log'])`.execute(database.db);
    await sql`select switchyard.put_routing_rule('hand-written', '{"nope": 1}'::jsonb, array['topic:audit-log'])`.execute(database.db);
    const listed = (await service.admin.get('/v1/admin/routing-rules')).body.rules.map((r: { name: string; on: unknown }) => [r.name, r.on]);
    expect(listed).toEqual([['from-sql', null], ['hand-written', null]]);
    // The very next message: the stage sees the rules' version move in the batch's own transaction.
    const copied = await publishRouted({ type: 'audit', payload: 'copy me' });
    expect((await inbox(audit)).map((m) => [m.id, m.via])).toEqual([[copied, 'from-sql']]);
    // The hand-written rule would match anything if it were applied; it is skipped instead.
    await publishRouted({ type: 'other', payload: 'for the sink only' });
    expect(await inbox(audit)).toEqual([]);

    // Deleted through the API and SQL: copies stop.
    expect((await service.admin.delete('/v1/admin/routing-rules/from-sql')).body.deleted).toBe(true);
    expect((await sql<{ deleted: boolean }>`select switchyard.delete_routing_rule('hand-written') as deleted`.execute(database.db)).rows[0]!.deleted).toBe(true);
    await publishRouted({ type: 'audit', payload: 'not any more' });
    expect(await inbox(audit)).toEqual([]);
  });

  test(`there are at most ${ROUTING_RULES_MAX} rules: one more is refused, replacing one is not`, async () => {
    await sql`delete from switchyard.routing_rule`.execute(database.db); // whatever earlier tests left
    await sql`select switchyard.put_routing_rule('many-' || g, '{"type": ["never"]}'::jsonb, array['topic:nowhere'])
              from generate_series(1, ${ROUTING_RULES_MAX}) g`.execute(database.db);
    expectProblem(await service.admin.put('/v1/admin/routing-rules/one-more', { match: { type: ['x'] }, to: ['topic:nowhere'] }), 400, 'TooManyRoutingRules');
    expect((await service.admin.put('/v1/admin/routing-rules/many-1', { match: { type: ['y'] }, to: ['topic:nowhere'] })).status).toBe(200);
    expect((await service.admin.get('/v1/admin/routing-rules')).body.rules).toHaveLength(ROUTING_RULES_MAX);
    await sql`delete from switchyard.routing_rule`.execute(database.db);
  });
});
