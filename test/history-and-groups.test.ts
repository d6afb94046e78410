// Groups are membership-based; history is per conversation and readable by its participants only.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from './helpers/factories.ts';
import { startTestService, type TestService } from './helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
  for (const user of ['alice', 'bob']) expect((await service.admin.put(`/v1/admin/groups/eng/members/${user}`)).status).toBe(200);
  alice = await registerClient(service.admin, 'alice', ['group:eng']);
  bob = await registerClient(service.admin, 'bob', ['group:eng', 'topic:news']);
  carol = await registerClient(service.admin, 'carol', ['topic:news']);
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

async function history(client: TestClient, query: string) {
  return eventually(async () => {
    const reply = await client.api.get(`/v1/history?${query}`);
    return reply.status !== 200 || reply.body.messages.length > 0 ? reply : undefined;
  }, 10_000, `history ${query}`);
}

describe('groups', () => {
  test('members list the group; a member posts into it and the other members receive it', async () => {
    expect((await service.admin.get('/v1/admin/groups/eng/members')).body).toEqual({ group: 'eng', members: ['alice', 'bob'] });
    const id = await publish(alice, { to: 'group:eng', payload: 'standup at ten' });
    const received = await bob.api.get('/v1/inbox?wait=5');
    expect(received.body.messages.map((m: { id: string }) => m.id)).toEqual([id]);
    await bob.api.post('/v1/inbox/ack', { receipts: [received.body.messages[0].receipt] });
  });

  test('removing a member takes the group off their clients\' listen-to lists and stops their posts', async () => {
    await service.admin.put('/v1/admin/groups/tmp/members/carol');
    await carol.api.put('/v1/clients/me/listen-to', { listen_to: ['topic:news', 'group:tmp'] });
    expect((await carol.api.get('/v1/clients/me')).body.listen_to).toContain('group:tmp');
    expect((await service.admin.delete('/v1/admin/groups/tmp/members/carol')).body).toEqual({ group: 'tmp', user: 'carol', changed: true });
    expect((await carol.api.get('/v1/clients/me')).body.listen_to).not.toContain('group:tmp');
    expect((await carol.api.post('/v1/messages', { to: 'group:tmp', payload: 1 })).status).toBe(403);
  });
});

describe('history', () => {
  test('a group conversation is readable by members and refused to others', async () => {
    const page = await history(bob, 'conversation=group:eng');
    expect(page.body.messages[0]).toMatchObject({ from: 'user:alice', to: 'group:eng', payload: 'standup at ten' });
    const refused = await carol.api.get('/v1/history?conversation=group:eng');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('NotAGroupMember');
  });

  test('a direct conversation is the same for both ends and invisible to a third', async () => {
    const id = await publish(alice, { to: 'user:bob', payload: 'just us' });
    const fromBob = await history(bob, 'conversation=user:alice');
    const fromAlice = await history(alice, 'conversation=user:bob');
    expect(fromBob.body.messages.map((m: { id: string }) => m.id)).toEqual([id]);
    expect(fromAlice.body.messages.map((m: { id: string }) => m.id)).toEqual([id]);
    expect((await carol.api.get('/v1/history?conversation=user:alice')).body.messages).toEqual([]);
  });

  test('pages go newest first and next_before leads to older messages until the start', async () => {
    const ids = [];
    for (let n = 0; n < 5; n++) ids.push(await publish(carol, { to: 'topic:news', payload: n }));
    await eventually(async () => {
      const all = await carol.api.get('/v1/history?conversation=topic:news&limit=10');
      return all.body.messages.length === 5 ? all : undefined;
    });
    const seen: string[] = [];
    let before = '';
    for (;;) {
      const page = await carol.api.get(`/v1/history?conversation=topic:news&limit=2${before ? `&before=${before}` : ''}`);
      seen.push(...page.body.messages.map((m: { id: string }) => m.id));
      if (!page.body.next_before) break;
      before = page.body.next_before;
    }
    expect(seen).toEqual([...ids].reverse());
  });
});

test('analytics count what was published per minute and address, and the latency of first deliveries', async () => {
  const id = await publish(carol, { to: 'topic:news', payload: 'measured' });
  await eventually(async () => {
    const received = await bob.api.get('/v1/inbox?wait=1&max=100');
    return received.body.messages.some((m: { id: string }) => m.id === id) ? true : undefined;
  }, 10_000, 'bob to receive the message');
  const rollup = await eventually(async () => {
    const reply = await service.admin.get('/v1/admin/analytics?address=topic:news');
    const minutes = reply.body.minutes as { published: number; delivered: number }[];
    const published = minutes.reduce((n, m) => n + m.published, 0);
    const delivered = minutes.reduce((n, m) => n + m.delivered, 0);
    return published >= 6 && delivered >= 6 ? reply.body.minutes.at(-1) : undefined;
  }, 10_000, 'analytics rollups');
  expect(rollup.latency_ms.p50).toBeGreaterThan(0);
  expect(rollup.latency_ms.max).toBeGreaterThanOrEqual(0);
});
