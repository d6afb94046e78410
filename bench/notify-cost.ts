// npm run bench:notify: what NOTIFY costs at commit. A transaction that sent a NOTIFY takes a
// cluster-wide lock while it commits (the notification queue is appended in commit order), so
// commits that notify are serialised. This measures single-row INSERT commits from 8 connections
// for a few seconds three ways: without NOTIFY, with a NOTIFY in every transaction (what a naive
// queue does), and with Switchyard's coalescing (at most one NOTIFY per channel per 5 ms per process).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { createLogger } from '../src/logger.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, runs: { type: 'string', default: '3' } } });
const SECONDS = Number(values.seconds);
const CONNECTIONS = 8;
const COALESCE_MS = 5;

type Mode = 'none' | 'every' | 'coalesced';

async function measure(url: string, mode: Mode): Promise<number> {
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
  }));
  let lastNotify = 0;
  let commits = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(clients.map(async (client) => {
    while (performance.now() < until) {
      const notify = mode === 'every' || (mode === 'coalesced' && performance.now() - lastNotify >= COALESCE_MS);
      if (notify) lastNotify = performance.now();
      await client.query(notify
        ? "with i as (insert into notify_cost (payload) values ('x')) select pg_notify('bench_notify', '')"
        : "insert into notify_cost (payload) values ('x')");
      commits += 1;
    }
  }));
  await Promise.all(clients.map((client) => client.end()));
  return commits / SECONDS;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-notify-'));
  const cluster = await startEmbeddedPostgres({ dataDir, port: 0, log: createLogger('warn'), settings: { shared_buffers: '1GB' } });
  try {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query('create table notify_cost (id bigserial primary key, payload text)');
    const listener = new pg.Client({ connectionString: cluster.url }); // a listener, so notifications are queued for real
    await listener.connect();
    await listener.query('listen bench_notify');
    const results: Record<Mode, number[]> = { none: [], every: [], coalesced: [] };
    for (let run = 0; run < Number(values.runs); run++) {
      for (const mode of ['none', 'every', 'coalesced'] as const) {
        results[mode].push(await measure(cluster.url, mode));
        process.stderr.write(`run ${run + 1} ${mode}: ${results[mode].at(-1)!.toFixed(0)} commits/s\n`);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const base = median(results.none);
    process.stdout.write(`durable single-row commits, ${CONNECTIONS} connections, ${SECONDS} s, median of ${values.runs} (min..max):\n`);
    for (const mode of ['none', 'every', 'coalesced'] as const) {
      const xs = results[mode];
      process.stdout.write(`  ${mode.padEnd(9)} ${median(xs).toFixed(0)}/s (${Math.min(...xs).toFixed(0)}..${Math.max(...xs).toFixed(0)}), ${(median(xs) / base).toFixed(2)}x of no NOTIFY\n`);
    }
    await listener.end();
    await admin.end();
  } finally {
    await cluster.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
