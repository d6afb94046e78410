// Waiters wake in slices (queue/waiters.ts): a broadcast's thousands of streams are woken a few
// hundred per event-loop turn, so the first claims reach the database while the rest wake. Every
// waiter must still be woken exactly once, and only the keys named.
import { getEventListeners } from 'node:events';
import { expect, test } from 'vitest';
import { WAKE_SLICE, Waiters } from '../../src/queue/waiters.ts';

test('a wake-all reaches every waiter, a slice per turn, each once', async () => {
  const waiters = new Waiters();
  const count = WAKE_SLICE * 2 + 7;
  const registrations = Array.from({ length: count }, (_, i) => waiters.register(`client-${i}`, 60_000));
  let settled = 0;
  for (const r of registrations) void r.done.then(() => (settled += 1));
  waiters.wake(undefined);
  await Promise.resolve();
  expect(settled).toBe(WAKE_SLICE); // the first slice at once, the rest on later turns
  const outcomes = await Promise.all(registrations.map((r) => r.done));
  expect(outcomes).toEqual(Array.from({ length: count }, () => 'woken'));
  expect(waiters.size).toBe(0);
});

test('a wake of some keys leaves the others waiting', async () => {
  const waiters = new Waiters();
  const woken = Array.from({ length: WAKE_SLICE + 1 }, () => waiters.register('busy', 60_000));
  const other = waiters.register('quiet', 60_000);
  waiters.wake(['busy']);
  expect(await Promise.all(woken.map((r) => r.done))).toEqual(woken.map(() => 'woken'));
  expect(waiters.keys()).toEqual(['quiet']);
  other.cancel();
  expect(await other.done).toBe('aborted');
});

test('a waiter that stops waiting before its slice comes is not woken', async () => {
  const waiters = new Waiters();
  const registrations = Array.from({ length: WAKE_SLICE + 1 }, (_, i) => waiters.register(`c-${i}`, 60_000));
  waiters.wake(undefined);
  registrations.at(-1)!.cancel(); // still waiting: its slice runs on the next turn
  expect(await registrations.at(-1)!.done).toBe('aborted');
  expect(await registrations[0]!.done).toBe('woken');
});

test('one key with 200,000 waiters wakes them all (no argument spread to overflow the stack)', async () => {
  const waiters = new Waiters();
  const registrations = Array.from({ length: 200_000 }, () => waiters.register('crowded', 60_000));
  waiters.wake(['crowded']);
  const outcomes = await Promise.all(registrations.map((r) => r.done));
  expect(outcomes.every((o) => o === 'woken')).toBe(true);
  expect(waiters.size).toBe(0);
});

test('a waiter whose signal aborts settles as aborted and leaves its key, the key\'s other waiter stays', async () => {
  const waiters = new Waiters();
  const gone = new AbortController();
  const first = waiters.register('shared', 60_000, gone.signal);
  const second = waiters.register('shared', 60_000);
  gone.abort();
  expect(await first.done).toBe('aborted');
  expect(waiters.size).toBe(1);
  waiters.wake(['shared']);
  expect(await second.done).toBe('woken');
  expect(waiters.keys()).toEqual([]);
});

test('a wait that times out settles once as timeout and leaves no key behind; a later wake or cancel changes nothing', async () => {
  const waiters = new Waiters();
  const lone = waiters.register('lone', 5);
  const paired = [waiters.register('pair', 5), waiters.register('pair', 60_000)];
  expect(await lone.done).toBe('timeout');
  expect(await paired[0]!.done).toBe('timeout');
  expect(waiters.keys()).toEqual(['pair']);
  waiters.wake(['lone']);
  lone.cancel();
  expect(await lone.done).toBe('timeout');
  paired[1]!.cancel();
  expect(waiters.size).toBe(0);
});

test('a signal already aborted gives a settled registration and registers nothing', async () => {
  const waiters = new Waiters();
  const r = waiters.register('late', 60_000, AbortSignal.abort());
  expect(await r.done).toBe('aborted');
  expect(waiters.size).toBe(0);
});

test('a signal gets one abort listener however many waits it has made, and its abort ends every wait still on it', async () => {
  const waiters = new Waiters();
  const stream = new AbortController();
  for (let i = 0; i < 100; i++) {
    const r = waiters.register('client', 60_000, stream.signal);
    if (i % 2 === 0) r.cancel();
    else waiters.wake(['client']);
    await r.done;
  }
  expect(getEventListeners(stream.signal, 'abort')).toHaveLength(1);
  const both = [waiters.register('a', 60_000, stream.signal), waiters.register('b', 60_000, stream.signal)];
  const other = waiters.register('a', 60_000);
  stream.abort();
  expect(await Promise.all(both.map((r) => r.done))).toEqual(['aborted', 'aborted']);
  expect(waiters.keys()).toEqual(['a']);
  waiters.wake(['a']);
  expect(await other.done).toBe('woken');
});
