// Open streams and WebSockets end at shutdown through one listener on the shutdown signal
// (inbox/shutdown-listeners.ts), not one each: Node walks a signal's list of listeners on every add
// and remove, so a listener each made opening a stream slower the more were open.
import { getEventListeners } from 'node:events';
import { expect, test } from 'vitest';
import { onShutdown } from '../../src/inbox/shutdown-listeners.ts';

test('streams that come and go leave one listener on the shutdown signal; shutting down ends each open one once, and none that closed', () => {
  const shutdown = new AbortController();
  const ended: number[] = [];
  const forget = Array.from({ length: 1_000 }, (_, i) => onShutdown(shutdown.signal, () => ended.push(i)));
  for (let i = 0; i < 1_000; i += 2) forget[i]!();
  expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
  shutdown.abort();
  expect(ended).toEqual(Array.from({ length: 500 }, (_, k) => 2 * k + 1));
  forget[1]!(); // a stream closing after shutdown: nothing left to forget, nothing called again
  expect(ended).toHaveLength(500);
});
