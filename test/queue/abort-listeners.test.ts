// Many listeners on one abort signal behind one real listener (queue/abort-listeners.ts): Node walks
// a signal's list of listeners on every add and remove, so a listener each made opening a stream
// slower the more were open, and a listener per wait cost microseconds per message per stream.
import { getEventListeners } from 'node:events';
import { expect, test } from 'vitest';
import { listenForAbort, stopListeningForAbort } from '../../src/queue/abort-listeners.ts';

test('streams that come and go leave one listener on the shutdown signal; shutting down ends each open one once, and none that stopped listening', () => {
  const shutdown = new AbortController();
  const ended: number[] = [];
  const listeners = Array.from({ length: 1_000 }, (_, i) => () => void ended.push(i));
  for (const listener of listeners) listenForAbort(shutdown.signal, listener);
  for (let i = 0; i < 1_000; i += 2) stopListeningForAbort(shutdown.signal, listeners[i]!);
  expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
  shutdown.abort();
  expect(ended).toEqual(Array.from({ length: 500 }, (_, k) => 2 * k + 1));
  stopListeningForAbort(shutdown.signal, listeners[1]!); // a stream closing after shutdown: nothing called again
  expect(ended).toHaveLength(500);
});

test('a listener may be an object with handleEvent, called once on abort', () => {
  const signal = new AbortController();
  let calls = 0;
  listenForAbort(signal.signal, { handleEvent: () => void (calls += 1) });
  signal.abort();
  signal.abort();
  expect(calls).toBe(1);
});
