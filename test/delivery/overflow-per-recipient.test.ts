// Overflow acts per recipient: a full queue (overflow reject) refuses direct messages with 429
// QueueFull, but a topic or group message is accepted, the full client's copy goes to its dead
// letters (reason overflow) and everyone else receives it. Every overflow is counted per client.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let alice: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_ROLES: 'router,routing,push,upkeep',
  }, { delivery: { statsMs: 100 } });
  alice = await registerClient(service.admin, 'alice');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

const setPolicy = (client: TestClient, policy: Record<string, unknown>) =>
  service.admin.put(`/v1/admin/clients/${client.id}/queue-policy`, policy);

/** The value of one counter sample in /metrics, 0 when it has no series yet. */
async function overflows(client: TestClient, action: string): Promise<number> {
  const text = (await service.anonymous.get('/metrics')).body as string;
  const line = text.split('\n').find((l) => l.startsWith('switchyard_queue_overflows_total{')
    && l.includes(`client_id="${client.id}"`) && l.includes(`action="${action}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

test('a full queue refuses direct messages, dead-letters its own copy of a topic message, and the other subscriber gets it', async () => {
  const carol = await registerClient(service.admin, 'carol', ['topic:news']);
  const dave = await registerClient(service.admin, 'dave', ['topic:news']);
  expect((await setPolicy(carol, { max_length: 2, overflow: 'reject' })).status).toBe(200);
  await publish(alice, { to: 'user:carol', payload: 1 });
  await publish(alice, { to: 'user:carol', payload: 2 });

  // Direct: refused once the queue has been counted full, and nothing is written.
  const refused = await eventually(async () => {
    // One dedup_id: a probe accepted before the queue was counted full is published once at most.
    const reply = await alice.api.post('/v1/messages', { to: 'user:carol', payload: 3, dedup_id: 'probe' });
    return reply.status === 429 ? reply : undefined;
  }, 10_000, 'a 429');
  expect(refused.body).toMatchObject({ code: 'QueueFull', errors: [{ path: 'to' }] });
  expect(refused.headers.get('retry-after')).toBe('5');
  expect(await overflows(carol, 'refused')).toBeGreaterThanOrEqual(1);

  // Topic: accepted; dave receives it, carol's copy is a dead letter with reason overflow.
  const news = await publish(alice, { to: 'topic:news', payload: 'headline' });
  const daveGot = await eventually(async () => {
    const reply = await dave.api.get('/v1/inbox?wait=1');
    return reply.body.messages.length > 0 ? reply.body.messages : undefined;
  });
  expect(daveGot.map((m: { id: string }) => m.id)).toEqual([news]);
  const dead = await eventually(async () => {
    const reply = await carol.api.get('/v1/inbox/dead-letters');
    return reply.body.dead_letters.length > 0 ? reply.body.dead_letters : undefined;
  });
  expect(dead).toMatchObject([{ id: news, reason: 'overflow' }]);
  expect(await overflows(carol, 'dead_lettered')).toBe(1);
  expect(await overflows(dave, 'dead_lettered')).toBe(0);

  // Carol's queue holds the direct messages (and a probe accepted before the queue was counted
  // full, if any), never the topic message.
  const inbox = await carol.api.get('/v1/inbox?max=10');
  const ids = inbox.body.messages.map((m: { id: string }) => m.id);
  expect(ids).not.toContain(news);
  expect(inbox.body.messages.map((m: { payload: unknown }) => m.payload).slice(0, 2)).toEqual([1, 2]);
});

test('a full queue with the dead_letter policy accepts direct messages and makes room by dead-lettering its oldest', async () => {
  const erin = await registerClient(service.admin, 'erin', ['topic:weather']);
  await setPolicy(erin, { max_length: 2, overflow: 'dead_letter' });
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(await publish(alice, { to: 'user:erin', payload: i }));
  ids.push(await publish(alice, { to: 'topic:weather', payload: 'rain' }));
  const dead = await eventually(async () => {
    const reply = await erin.api.get('/v1/inbox/dead-letters');
    return reply.body.dead_letters.length === 2 ? reply.body.dead_letters : undefined;
  });
  expect(dead.map((d: { id: string }) => d.id).sort()).toEqual(ids.slice(0, 2).sort());
  expect(await overflows(erin, 'dropped_oldest')).toBe(2);
  expect(await overflows(erin, 'refused')).toBe(0);
});
