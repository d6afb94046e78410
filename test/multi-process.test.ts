// Each role scales past one process: two routers, two push processes and two of every stage plus
// an upkeep share one database; publishers and consumers (long poll and SSE) are spread over the
// routers and push processes; one process of every role is SIGKILLed mid-run and restarted. Then
// the books must balance exactly: every 202 reached every subscriber, history holds each message
// once, analytics counted each once, and no delivery row was created twice (redeliveries after a
// lease ran out are counted apart).
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { BENCH_ADMIN_TOKEN } from '../bench/lib/processes.ts';
import { Fleet } from './chaos/fleet.ts';
import { account, consumeLoop, drained, newLedger, publishLoop } from './chaos/load.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, registerClient } from './helpers/factories.ts';
import { api } from './helpers/http.ts';

let database: TestDatabase;
let fleet: Fleet;

beforeAll(async () => {
  database = await createTestDatabase();
  fleet = new Fleet(database.url, { SWITCHYARD_STAGE_WORKERS_MAX: '2', SWITCHYARD_POOL_MAX: '5' });
});

afterAll(async () => {
  await fleet?.stop();
  await database?.drop();
});

test('two processes of every role, one of each killed and restarted mid-run: every message once everywhere', async () => {
  const roles = ['router', 'push', 'routing', 'persistence', 'analytics'];
  for (const role of roles) await fleet.add(role, 2);
  await fleet.add('upkeep', 1);
  const admin = api(fleet.urls('router')[0]!, BENCH_ADMIN_TOKEN);
  const publishers = [await registerClient(admin, 'pub-a'), await registerClient(admin, 'pub-b')];
  const consumers = [
    { client: await registerClient(admin, 'sub-poll-a', ['topic:fleet']), transport: 'poll' as const },
    { client: await registerClient(admin, 'sub-poll-b', ['topic:fleet']), transport: 'poll' as const },
    { client: await registerClient(admin, 'sub-sse', ['topic:fleet']), transport: 'sse' as const },
  ];

  const ledger = newLedger();
  const stopPublishing = new AbortController();
  const stopConsuming = new AbortController();
  const publishing = publishers.map((p, i) => publishLoop({
    token: p.token, routers: () => fleet.urls('router'), to: 'topic:fleet', rate: 40, signal: stopPublishing.signal, ledger, offset: i,
  }));
  const consuming = consumers.map((c, i) => consumeLoop({
    name: c.client.name, token: c.client.token, pushes: () => fleet.urls('push'), transport: c.transport, signal: stopConsuming.signal, ledger, offset: i,
  }));

  await new Promise((resolve) => setTimeout(resolve, 2_000));
  // One of every role, at once, with no chance to shut down; then back.
  const victims = ['router', 'push', 'routing', 'persistence', 'analytics', 'upkeep'].map((role) => fleet.members.find((m) => m.roles === role)!);
  await Promise.all(victims.map((member) => fleet.kill(member)));
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await Promise.all(victims.map((member) => fleet.restart(member)));
  await new Promise((resolve) => setTimeout(resolve, 2_000));

  stopPublishing.abort();
  await Promise.all(publishing);
  expect(await drained(ledger, 45_000)).toBe(true);
  stopConsuming.abort();
  await Promise.all(consuming);

  const books = account(ledger);
  expect(books.accepted).toBeGreaterThan(50);
  expect(books.lost).toBe(0);
  expect(books.duplicates).toBe(0);
  process.stderr.write(`multi-process: ${JSON.stringify(books)}\n`);

  // Consumers draining says routing caught up; persistence and analytics read the log through
  // their own cursors, and the killed ones may still be working through their backlog. Wait for
  // them to reach every message, then demand exactly once.
  const ids = [...ledger.accepted];
  const persisted = await eventually(async () => {
    const history = await sql<{ rows: string; distinct: string }>`
      select count(*) as rows, count(distinct message_id) as distinct from switchyard.history where message_id = any(${ids}::uuid[])`.execute(database.db);
    return Number(history.rows[0]!.distinct) >= ids.length ? history.rows[0] : undefined;
  }, 30_000, 'persistence to store every accepted message');
  expect(persisted).toEqual({ rows: String(ids.length), distinct: String(ids.length) });
  // Analytics counts at the message's address, once per message, whichever worker handled it.
  const counted = await eventually(async () => {
    const minutes = await sql<{ published: string }>`
      select coalesce(sum(published), 0) as published from switchyard.analytics_minute where address = 'topic:fleet'`.execute(database.db);
    const published = Number(minutes.rows[0]!.published);
    return published >= ids.length ? published : undefined;
  }, 30_000, 'analytics to count every accepted message');
  expect(counted).toBe(ids.length);
  // Every delivery that was acked left one receipt: none for a delivery row made twice.
  const receipts = await sql<{ twice: string }>`
    select count(*) as twice from (select 1 from switchyard.delivery_receipt where message_id = any(${ids}::uuid[])
      group by message_id, client_id having count(*) > 1) doubled`.execute(database.db);
  expect(receipts.rows[0]!.twice).toBe('0');
}, 150_000); // thirteen processes on two cores: the stages may need their own catch-up time after the load
