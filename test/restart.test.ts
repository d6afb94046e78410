// A restart keeps every message: what was only in the log is routed afterwards, and what was
// routed but not yet received is delivered afterwards. Runs the default setup: embedded
// PostgreSQL in a data folder, as `npm start` does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, publish, registerClient } from './helpers/factories.ts';
import { startTestService, type TestService } from './helpers/service.ts';

let dataDir: string;
let service: TestService | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'switchyard-restart-'));
});

afterAll(async () => {
  await service?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const embedded = (roles: string) => startTestService(undefined, {
  SWITCHYARD_DATA_DIR: dataDir,
  SWITCHYARD_EMBEDDED_PG_PORT: '0',
  SWITCHYARD_ROLES: roles,
});

test('messages accepted before a restart are delivered after it, whether they were routed or not', async () => {
  // First run: the router alone, so the messages stay in the log only.
  service = await embedded('router');
  const alice = await registerClient(service.admin, 'alice');
  const bob = await registerClient(service.admin, 'bob');
  const early = [await publish(alice, { to: 'user:bob', payload: 1 }), await publish(alice, { to: 'user:bob', payload: 2 })];
  await service.stop();

  // Second run: everything; the early messages get routed, two more are routed, none received.
  service = await embedded('router,routing,persistence,analytics,push');
  const alice2 = { ...alice, api: service.admin.as(alice.token) }; // the port is new
  const late = [await publish(alice2, { to: 'user:bob', payload: 3 }), await publish(alice2, { to: 'user:bob', payload: 4 })];
  const db = service.db;
  await eventually(async () => {
    const n = (await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery`.execute(db)).rows[0]!.n;
    return n === 4 ? n : undefined;
  }, 10_000, 'four deliveries');
  await service.stop();

  // Third run: bob receives all four, in order, exactly once.
  service = await embedded('router,routing,persistence,analytics,push');
  const received = await service.admin.as(bob.token).get('/v1/inbox?wait=5&max=10');
  expect(received.status).toBe(200);
  expect(received.body.messages.map((m: { id: string }) => m.id)).toEqual([...early, ...late]);
  expect(received.body.messages.map((m: { payload: number }) => m.payload)).toEqual([1, 2, 3, 4]);
  await service.stop();
  service = undefined;
});
