// switchyard stats: a live view of queues and stages, redrawn in place every --interval seconds
// (default 1) until Ctrl-C; --once prints it once. It reads the same snapshot as /metrics, so
// watching it costs the database what one scrape per interval costs.
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { OpsSnapshots } from '../ops/ops-snapshot.ts';
import { recommendWorkers } from '../ops/scaling.ts';
import { renderStats } from './stats-view.ts';
import { UsageError } from './usage-error.ts';

export const STATS_USAGE = 'usage: switchyard stats [--once] [--interval SECONDS] [--top N]';

export interface StatsArgs {
  once: boolean;
  interval: string | undefined;
  top: string | undefined;
}

interface Screen {
  isTTY?: boolean;
  write(text: string): unknown;
}

export function statsCommand(a: StatsArgs, config: Config, out: Screen): (db: Db) => Promise<void> {
  const intervalSeconds = a.interval === undefined ? 1 : Number(a.interval);
  if (!(intervalSeconds >= 0.2 && intervalSeconds <= 3600)) throw new UsageError('--interval must be 0.2 to 3600 seconds');
  const top = a.top === undefined ? 10 : Number(a.top);
  if (!Number.isInteger(top) || top < 0 || top > 100) throw new UsageError('--top must be a whole number from 0 to 100');

  return async (db) => {
    const snapshots = new OpsSnapshots(db, { cacheMs: 0, topQueues: top });
    const frame = async () => {
      const snapshot = await snapshots.current();
      return renderStats({ snapshot, recommendations: recommendWorkers(snapshot, config.scaling), traffic: snapshot.traffic });
    };
    if (a.once) {
      out.write(`${(await frame()).join('\n')}\n`);
      return;
    }

    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const tty = out.isTTY === true;
    // On a terminal: hide the cursor, clear once, then redraw from the top, clearing each line's
    // rest and whatever is below, so the picture never flickers through an empty screen.
    if (tty) out.write('\x1b[?25l\x1b[2J');
    try {
      while (!stop.signal.aborted) {
        const lines = await frame();
        const footer = `(every ${intervalSeconds} s; Ctrl-C to quit)`;
        if (tty) out.write(`\x1b[H${[...lines, footer].map((line) => `${line}\x1b[K`).join('\n')}\n\x1b[J`);
        else out.write(`${lines.join('\n')}\n\n`);
        await sleep(intervalSeconds * 1000, stop.signal);
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (tty) out.write('\x1b[?25h');
    }
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
