// Signals: in memory at once, to other processes by a coalesced NOTIFY, never back to the sender,
// and a wake-all after the listening connection comes back.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { CHANNELS } from '../../src/notifications/channels.ts';
import { Signals } from '../../src/notifications/signals.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually } from '../helpers/factories.ts';

const log = createLogger('silent');
let database: TestDatabase;
let a: Signals;
let b: Signals;

beforeAll(async () => {
  database = await createTestDatabase();
  a = new Signals({ url: database.url, pool: database.pool, log, coalesceMs: 50 });
  b = new Signals({ url: database.url, pool: database.pool, log, coalesceMs: 50 });
  await a.listen();
  await b.listen();
  // a learns that b listens from b's announcement, which may reach it after b.listen() resolves
  // (on a busy machine, well after): until then a sends no NOTIFY on the polled channels, by
  // design. The tests below are about what a sends once it knows, so wait until b hears a.
  const heard: unknown[] = [];
  const off = b.on('reply', (keys) => heard.push(keys));
  await eventually(async () => {
    a.signal('reply', ['warm-up']);
    return heard.length > 0 ? true : undefined;
  }, 10_000, 'b to hear a');
  off();
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
});

test('a signal wakes local handlers at once and other processes by NOTIFY, but not its sender twice', async () => {
  const local: (string[] | undefined)[] = [];
  const remote: (string[] | undefined)[] = [];
  const offA = a.on('delivery', (keys) => local.push(keys));
  const offB = b.on('delivery', (keys) => remote.push(keys));
  a.signal('delivery', ['7', '8']);
  expect(local).toEqual([['7', '8']]); // synchronous, no round trip
  await eventually(async () => (remote.length > 0 ? true : undefined));
  expect(remote).toEqual([['7', '8']]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(local).toHaveLength(1); // its own NOTIFY came back and was ignored
  offA();
  offB();
});

test('a burst of signals goes out as at most two NOTIFYs, with every key', async () => {
  const listener = new pg.Client({ connectionString: database.url });
  await listener.connect();
  const payloads: string[] = [];
  listener.on('notification', (n) => payloads.push(n.payload ?? ''));
  await listener.query(`listen ${CHANNELS.delivery}`);
  const keys = new Set<string>();
  const off = b.on('delivery', (k) => k?.forEach((key) => keys.add(key)));
  for (let i = 0; i < 100; i++) a.signal('delivery', [String(i)]);
  await eventually(async () => (keys.size === 100 ? true : undefined), 5_000, 'all keys');
  await new Promise((resolve) => setTimeout(resolve, 150));
  expect(payloads.length).toBeLessThanOrEqual(2);
  off();
  await listener.end();
});

test('when the listening connection is lost, it comes back and wakes every handler once', async () => {
  const woken: (string[] | undefined)[] = [];
  const off = b.on('log', (keys) => woken.push(keys));
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity
                     where application_name like 'switchyard:listen:%' and datname = current_database()`);
  await admin.end();
  await eventually(async () => (woken.includes(undefined) ? true : undefined), 15_000, 'a wake-all after reconnect');
  // And notifications flow again afterwards.
  const before = woken.length;
  a.signal('log');
  await eventually(async () => (woken.length > before ? true : undefined), 10_000, 'a notification after reconnect');
  off();
});

test('alone, a process sends no NOTIFY on the polled channels but still sends config changes; one that starts listening is notified again at once', async () => {
  const own = await createTestDatabase();
  // Looks only when it starts listening: from then on only what it hears can change its mind.
  const solo = new Signals({ url: own.url, pool: own.pool, log, coalesceMs: 0, peerCheckMs: 60_000 });
  const other = new Signals({ url: own.url, pool: own.pool, log, coalesceMs: 0 });
  const observer = new pg.Client({ connectionString: own.url }); // not a Switchyard listener: not a peer
  try {
    await solo.listen();
    await observer.connect();
    const seen: string[] = [];
    observer.on('notification', (n) => seen.push(n.channel));
    await observer.query(`listen ${CHANNELS.delivery}; listen ${CHANNELS.log}; listen ${CHANNELS.config}`);
    solo.signal('delivery', ['1']);
    solo.signal('log', ['3']);
    solo.signal('config', ['client:1']);
    await eventually(async () => (seen.includes(CHANNELS.config) ? true : undefined), 5_000, 'the config change');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toEqual([CHANNELS.config]);

    const heard: string[] = [];
    other.on('delivery', (keys) => heard.push(...(keys ?? ['*'])));
    await other.listen();
    await eventually(async () => {
      solo.signal('delivery', ['2']);
      return heard.includes('2') ? true : undefined;
    }, 5_000, 'the newcomer to hear the lone process');
  } finally {
    await observer.end().catch(() => undefined);
    await solo.close();
    await other.close();
    await own.drop();
  }
});
