// Many listeners on one abort signal, behind one real listener: every open stream and WebSocket on
// the service's shutdown signal, every wait of a stream on that stream's signal. Node's EventTarget
// keeps a signal's listeners in a list that addEventListener and removeEventListener both walk (to
// refuse duplicates), and each call costs microseconds besides. In the broadcast scenario's push
// process (bench/RESULTS.md, fifth session) that was the costliest JavaScript: 1.3 s of
// addEventListener per run, half of it the shutdown signal's list growing with the streams open,
// half a new listener per wait (one per stream per message). Here an add or remove is a Set's.
//
// Like addEventListener: a listener is called at most once, when the signal aborts; nothing happens
// for a signal that has already aborted; a listener may be a function or an object with
// handleEvent (no closure per listener, for the objects there are many of).

export type AbortListener = (() => void) | { handleEvent(): void };

const bySignal = new WeakMap<AbortSignal, Set<AbortListener>>();

export function listenForAbort(signal: AbortSignal, listener: AbortListener): void {
  let listeners = bySignal.get(signal);
  if (listeners === undefined) {
    const all = new Set<AbortListener>();
    bySignal.set(signal, (listeners = all));
    signal.addEventListener('abort', () => {
      const called = [...all];
      all.clear();
      for (const each of called) {
        if (typeof each === 'function') each();
        else each.handleEvent();
      }
    }, { once: true });
  }
  listeners.add(listener);
}

export function stopListeningForAbort(signal: AbortSignal, listener: AbortListener): void {
  bySignal.get(signal)?.delete(listener);
}
