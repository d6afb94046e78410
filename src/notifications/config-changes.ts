// The config channel's keys: `<kind>:<name>` (client:<id>, group:<name>, topic:<name>,
// classifier:<topic>) or a kind alone (routing-rules). Each process keeps caches of what it read;
// a change signals its key and every process drops the cached copy, here sorted by kind.
import type { Signals } from './signals.ts';

/** Told the names of its kind that changed, or undefined for "anything may have changed". */
export type ConfigChangeHandler = (names: string[] | undefined) => void;

/** Calls each kind's handlers with that kind's changed names; a kind none of whose keys changed is not called. */
export function onConfigChange(signals: Pick<Signals, 'on'>, handlers: Record<string, ConfigChangeHandler>): () => void {
  return signals.on('config', (keys) => {
    for (const [kind, handle] of Object.entries(handlers)) {
      if (keys === undefined) {
        handle(undefined);
        continue;
      }
      const names = keys.flatMap((key) => (key === kind ? [''] : key.startsWith(`${kind}:`) ? [key.slice(kind.length + 1)] : []));
      if (names.length > 0) handle(names);
    }
  });
}

/** Tells every process (this one at once) that `kind`'s `name` changed. */
export function signalConfigChange(signals: Pick<Signals, 'signal'>, kind: string, name?: string): void {
  signals.signal('config', [name === undefined ? kind : `${kind}:${name}`]);
}
