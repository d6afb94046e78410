// What to run when the service shuts down, for every open stream and WebSocket: one listener on
// the shutdown signal for all of them. A listener each made opening and closing a stream cost time
// in proportion to the streams already open, because Node's EventTarget keeps a signal's listeners
// in a list that every addEventListener and removeEventListener walks (to refuse duplicates):
// opening 10,000 streams spent 0.65 s of CPU in addEventListener alone (a profile of the broadcast
// scenario's push process).

const listeners = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls fn once when the signal aborts, unless the answer is called first, which forgets it. Like
 * addEventListener, nothing happens for a signal that has already aborted.
 */
export function onShutdown(signal: AbortSignal, fn: () => void): () => void {
  let fns = listeners.get(signal);
  if (fns === undefined) {
    const all = new Set<() => void>();
    listeners.set(signal, (fns = all));
    signal.addEventListener('abort', () => {
      for (const each of [...all]) each();
      all.clear();
    }, { once: true });
  }
  const registered = fns;
  registered.add(fn);
  return () => void registered.delete(fn);
}
