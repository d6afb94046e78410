// Config keys are sorted by kind: each cache hears only the names of its own kind, and a wake-all
// (after a listener reconnect) reaches every cache with "anything may have changed".
import { expect, test } from 'vitest';
import { onConfigChange } from '../../src/notifications/config-changes.ts';
import type { SignalHandler } from '../../src/notifications/signals.ts';

function configChannel() {
  const handlers: SignalHandler[] = [];
  return {
    on: (channel: string, handler: SignalHandler) => {
      expect(channel).toBe('config');
      handlers.push(handler);
      return () => undefined;
    },
    send: (keys: string[] | undefined) => handlers.forEach((handler) => handler(keys)),
  };
}

test('each kind is told only its own changed names; a kind with none is not called; a wake-all calls every kind', () => {
  const channel = configChannel();
  const heard: [string, string[] | undefined][] = [];
  onConfigChange(channel, {
    group: (names) => heard.push(['group', names]),
    topic: (names) => heard.push(['topic', names]),
    'routing-rules': (names) => heard.push(['routing-rules', names]),
  });

  channel.send(['group:eng', 'client:42', 'topic:news', 'group:ops']);
  expect(heard).toEqual([['group', ['eng', 'ops']], ['topic', ['news']]]);

  heard.length = 0;
  channel.send(['routing-rules', 'groupies:x']); // a kind alone; another kind's prefix is not this kind
  expect(heard).toEqual([['routing-rules', ['']]]);

  heard.length = 0;
  channel.send(undefined);
  expect(heard).toEqual([['group', undefined], ['topic', undefined], ['routing-rules', undefined]]);
});
