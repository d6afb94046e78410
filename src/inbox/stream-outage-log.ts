// When PostgreSQL goes away every open stream of a process fails at once, SSE and WebSocket alike:
// one storm-proof logger per process logger says so every few seconds instead of once per stream.
import { stormProof, type Logger } from '../logger.ts';

const outageLogs = new WeakMap<Logger, Logger>();

export function outageLog(log: Logger): Logger {
  let storm = outageLogs.get(log);
  if (!storm) outageLogs.set(log, (storm = stormProof(log)));
  return storm;
}
