// npm run bench [-- --tiny] [--runs N] [--only key,key] [--no-write]
//
// Starts its own embedded PostgreSQL with durable settings, measures the baselines (PostgreSQL's
// own limit with the simplest statements, and pg-boss) and every Switchyard scenario in one run,
// each several times, and writes the medians with their ranges into bench/RESULTS.md between the
// generated-results markers (the analysis around them is written by people).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres, databaseUrl } from '../src/db/embedded-postgres.ts';
import { migrateToLatest, withMigrationDb } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';
import * as baselines from './baselines.ts';
import * as scenarios from './scenarios.ts';
import type { KneeStep } from './lib/knee.ts';
import { killChildren } from './lib/processes.ts';
import { formatNumber, formatSpread, spread, type Spread } from './lib/stats.ts';

const { values: options } = parseArgs({
  options: {
    tiny: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const tiny = options.tiny;
/**
 * The knees' ramp. From 200/s its steps are at most 25% apart (250/s apart from 1,000 to 5,000,
 * under 7% past 3,750; 500/s up to 6,000), so a knee is known to within a step and the ratio of two
 * knees is not set by where the steps happen to fall. (The ramp was 1,500, 2,000, 3,000, 4,000,
 * 6,000: a knee of 4,000 then meant anything from 4,000 to just under 6,000. Then 500/s apart past
 * 2,000: with pg-boss at 1,250, three times its knee, 3,750, fell between two steps. Then 250, 500,
 * 750 below 1,000: on a host half as fast pg-boss's knee came out 250, meaning anything below 500.)
 */
const KNEE_RAMP = [
  50, 100, 150, 200, 250, 300, 375, 450, 550, 650, 750, 875, 1_000, 1_250, 1_500, 1_750, 2_000, 2_250, 2_500, 2_750, 3_000,
  3_250, 3_500, 3_750, 4_000, 4_250, 4_500, 4_750, 5_000, 5_500, 6_000, 7_000, 8_000,
];
const runs = Number(options.runs ?? (tiny ? 1 : 3));
const only = options.only?.split(',');
const scale: scenarios.Scale = tiny
  ? { seconds: 1, routingBacklog: 2_000, fanoutSubscribers: 200, fanoutMessages: 2, receiveBacklog: 2_000, streamBacklog: 2_000, idleStreams: 50, sseRate: 100, classifyBacklog: 500,
      broadcastStreams: 50, broadcastMessages: 2, broadcastIntervalMs: 250, kneeRates: [100], kneeSeconds: 1 }
  : { seconds: 10, routingBacklog: 400_000, fanoutSubscribers: 10_000, fanoutMessages: 20, receiveBacklog: 300_000, streamBacklog: 100_000, idleStreams: 15_000, sseRate: 1_000, classifyBacklog: 10_000,
      broadcastStreams: 10_000, broadcastMessages: 20, broadcastIntervalMs: 2_000, kneeRates: KNEE_RAMP, kneeSeconds: 3 };
/**
 * The fixed rate of the latency rows: the scale's rate (1,000/s), or half of pg-boss's knee when
 * that is lower (issue 18: a rate below both knees), once pg-boss's knee has been measured.
 */
const pgBossKnees: number[] = [];
const liveRate = () => {
  const sorted = [...pgBossKnees].sort((a, b) => a - b);
  const knee = sorted[Math.floor(sorted.length / 2)];
  return knee === undefined || knee === 0 ? scale.sseRate : Math.min(scale.sseRate, knee / 2);
};

const RESULTS_FILE = path.resolve(import.meta.dirname, 'RESULTS.md');
const START = '<!-- generated results: start -->';
const END = '<!-- generated results: end -->';
const log = createLogger('warn');

// Durable: fsync and synchronous commit stay on. Memory and checkpoint settings as a server with
// this much RAM would have them, so checkpoints do not dominate a ten-second run.
const POSTGRES_SETTINGS = {
  shared_buffers: '1GB', max_wal_size: '8GB', checkpoint_timeout: '30min', max_connections: '300',
  effective_cache_size: '8GB', work_mem: '16MB', maintenance_work_mem: '256MB',
};

function kneeStep(step: KneeStep): string {
  return `${step.rate}/s: p50 ${step.p50.toFixed(1)} ms, p99 ${step.p99.toFixed(1)} ms, lost ${step.lost}`;
}

function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}
// A reader that went away (bench | head) must not kill the run before it has cleaned up.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-bench-'));
  progress(`starting a durable embedded PostgreSQL in ${dataDir}`);
  const cluster = await startEmbeddedPostgres({ dataDir, port: 0, log, settings: POSTGRES_SETTINGS });
  // Interrupted (Ctrl-C, kill): stop what the run started rather than leave a database behind.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping the services, load generators and database`);
      killChildren();
      void cluster.stop().finally(() => rm(dataDir, { recursive: true, force: true })).finally(() => process.exit(130));
    });
  }
  const admin = new pg.Client({ connectionString: cluster.url });
  admin.on('error', () => undefined); // a lost connection fails its next query; an interrupt stops the server under it
  await admin.connect();
  try {
    await admin.query('create database bench_template');
    await withMigrationDb(databaseUrl(cluster.url, 'bench_template'), log, migrateToLatest);
    let serial = 0;
    const freshDb = async (): Promise<scenarios.FreshDatabase> => {
      const name = `bench_${++serial}`;
      await admin.query(`create database ${name} template bench_template`);
      const url = databaseUrl(cluster.url, name);
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      // pool.end() resolves before its connections have closed, so the forced drop below can
      // terminate one that is still closing; unheard, that error would crash the whole run.
      pool.on('error', () => undefined);
      return {
        url,
        query: pool.query.bind(pool) as pg.Pool['query'],
        drop: async () => {
          await pool.end();
          await admin.query(`drop database ${name} with (force)`);
        },
      };
    };
    const measured = await measureAll(freshDb);
    const report = render(measured, (await admin.query('show server_version')).rows[0].server_version as string);
    process.stdout.write(`${report}\n`);
    if (!options['no-write']) await writeResults(report);
  } finally {
    await admin.end();
    await cluster.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

interface Measure {
  key: string;
  title: string;
  run: (db: scenarios.FreshDatabase) => Promise<Record<string, number>>;
}

const MEASURES: Measure[] = [
  { key: 'raw-insert', title: 'baseline: raw INSERT, 100 rows per statement, 4 connections', run: async (db) => ({ perSecond: await baselines.rawInsert(db.url, scale.seconds) }) },
  { key: 'skip-locked', title: 'baseline: DELETE ... SKIP LOCKED, 100 per claim, 2 workers', run: async (db) => ({ perSecond: await baselines.skipLockedClaim(db.url, scale.receiveBacklog) }) },
  { key: 'pgboss-send', title: 'pg-boss send, 8 senders', run: async (db) => ({ perSecond: await baselines.pgBossSend(db.url, scale.seconds) }) },
  { key: 'pgboss-insert', title: 'pg-boss insert, 1000 per call', run: async (db) => ({ perSecond: await baselines.pgBossInsert(db.url, scale.seconds) }) },
  { key: 'pgboss-fetch', title: 'pg-boss fetch + complete, 100 per batch, 4 workers', run: async (db) => ({ perSecond: await baselines.pgBossFetchComplete(db.url, scale.receiveBacklog) }) },
  { key: 'bare-hono', title: 'bare Hono answering 202 with no work, 50 connections', run: async () => ({ ...(await baselines.bareHono(scale.seconds)) }) },
  { key: 'pgboss-knee', title: 'pg-boss send to handler: knee (highest rate with p99 <= 50 ms)', run: async (db) => {
    const { knee, strictKnee } = await baselines.pgBossKnee(db.url, scale.kneeRates, scale.kneeSeconds, (step) => progress(`  pgboss-knee: ${kneeStep(step)}`));
    pgBossKnees.push(knee);
    return { knee, strictKnee };
  } },
  { key: 'pgboss-latency', title: 'pg-boss send to handler, LISTEN/NOTIFY on', run: async (db) => {
    const r = await baselines.pgBossLatency(db.url, liveRate(), scale.seconds);
    return { p50: r.p50, p99: r.p99, max: r.max, rate: liveRate() };
  } },
  { key: 'ingest-single', title: 'ingest, 1 message per POST, 50 connections', run: async (db) => ({ ...(await scenarios.ingest(db, scale, 1)) }) },
  { key: 'ingest-batch', title: 'ingest, 100 messages per POST, 16 connections', run: async (db) => ({ ...(await scenarios.ingest(db, scale, 100)) }) },
  { key: 'overload', title: 'overload: single publishes offered at 1.5x the sustained rate, 256 connections', run: async (db) => ({ ...(await scenarios.overload(db, scale)) }) },
  { key: 'routing', title: 'routing from a backlog, 1 recipient per message', run: async (db) => ({ perSecond: await scenarios.routingBacklog(db, scale) }) },
  { key: 'fanout', title: `fan-out to ${formatNumber(scale.fanoutSubscribers)} subscribers`, run: async (db) => ({ perSecond: await scenarios.fanout(db, scale) }) },
  { key: 'fanout-filtered', title: `fan-out to ${formatNumber(scale.fanoutSubscribers)} subscribers, half filtered, a quarter matching`, run: async (db) => ({ perSecond: await scenarios.fanoutFiltered(db, scale) }) },
  { key: 'routing-rules', title: `routing from a backlog with ${scenarios.BENCH_RULES} routing rules`, run: async (db) => ({ perSecond: await scenarios.routingBacklogWithRules(db, scale) }) },
  { key: 'receive-ack', title: 'receive + ack over HTTP, 100 per call, 4 consumers', run: async (db) => ({ ...(await scenarios.receiveAck(db, scale)) }) },
  { key: 'receive-ack-ws', title: 'receive + ack over WebSocket with @switchyard/client, prefetch 100, 4 consumers', run: async (db) => ({ ...(await scenarios.receiveAck(db, scale, 'client')) }) },
  ...(['sse', 'ws'] as const).map((transport): Measure => ({
    key: `${transport}-knee`, title: `publish to ${transport === 'ws' ? 'WebSocket' : 'SSE'} receipt: knee (highest rate with p99 <= 50 ms)`, run: async (db) => {
      const { knee, strictKnee } = await scenarios.streamKnee(db, scale, transport, (step) => progress(`  ${transport}-knee: ${kneeStep(step)}`));
      return { knee, strictKnee };
    },
  })),
  ...(['sse', 'ws'] as const).map((transport): Measure => ({
    key: `${transport}-latency`, title: `publish to ${transport === 'ws' ? 'WebSocket' : 'SSE'} receipt at a fixed rate`, run: async (db) => {
      const r = await scenarios.streamLatency(db, scale, transport, liveRate());
      return { p50: r.latencyMs.p50, p99: r.latencyMs.p99, max: r.latencyMs.max, lost: r.sent - r.received, failed: r.failed, rate: liveRate() };
    },
  })),
  { key: 'sse-trace', title: 'publish to SSE receipt at the fixed rate, by segment', run: async (db) => ({ ...(await scenarios.streamTrace(db, scale, liveRate())) }) },
  ...(['auto', 'lease'] as const).map((mode): Measure => ({
    key: `stream-carry-${mode}`, title: `one SSE stream draining a backlog, ${mode === 'auto' ? 'auto-acked' : 'leased, prefetch 100, acked by the client'}`,
    run: async (db) => ({ ...(await scenarios.streamCarry(db, scale, mode)) }),
  })),
  { key: 'broadcast', title: `broadcast to ${formatNumber(scale.broadcastStreams)} SSE streams in one push process`, run: async (db) => ({
    ...(await scenarios.broadcast(db, scale, (line) => progress(`  broadcast: ${line}`))),
  }) },
  ...(['sse', 'ws'] as const).map((transport): Measure => ({
    key: `idle-${transport}`, title: `${formatNumber(scale.idleStreams)} idle ${transport === 'ws' ? 'WebSockets' : 'SSE streams'} in one process`,
    run: async (db) => ({ ...(await scenarios.idleStreams(db, scale, transport, (line) => progress(`  idle-${transport}: ${line}`))) }),
  })),
  { key: 'classify', title: 'content classification, one analytics worker, starter model', run: async (db) => ({ ...(await scenarios.classify(db, scale)) }) },
];

async function measureAll(freshDb: () => Promise<scenarios.FreshDatabase>): Promise<Map<string, Record<string, Spread>>> {
  const chosen = MEASURES.filter((m) => !only || only.includes(m.key));
  const results = new Map<string, Record<string, Spread>>();
  for (const [i, measure] of chosen.entries()) {
    const samples: Record<string, number>[] = [];
    for (let run = 1; run <= runs; run++) {
      progress(`[${i + 1}/${chosen.length}] ${measure.key}: run ${run} of ${runs}`);
      const db = await freshDb();
      try {
        const sample = await measure.run(db);
        progress(`  ${Object.entries(sample).map(([k, v]) => `${k}=${formatNumber(v, 1)}`).join(' ')}`);
        samples.push(sample);
      } finally {
        await db.drop();
      }
    }
    results.set(measure.key, Object.fromEntries(Object.keys(samples[0]!).map((field) => [field, spread(samples.map((s) => s[field]!))])));
  }
  return results;
}

function render(r: Map<string, Record<string, Spread>>, postgresVersion: string): string {
  const get = (key: string, field: string) => r.get(key)?.[field];
  const value = (key: string, field: string, digits = 0, unit = '') => {
    const s = get(key, field);
    return s ? formatSpread(s, digits, unit) : 'not run';
  };
  const ratio = (key: string, field: string, base: string, baseField = 'perSecond') => {
    const a = get(key, field)?.median;
    const b = get(base, baseField)?.median;
    return a && b ? `${(a / b).toFixed(2)}x ${base}` : '';
  };
  const verdict = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'met' : '**missed**');
  const m = (key: string, field: string) => get(key, field)?.median;
  const cpu = os.cpus();
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench${tiny ? ' -- --tiny' : ''}\`: ${runs} run(s) each, median [min..max].`,
    '',
    `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}. ` +
      `Node ${process.version}, PostgreSQL ${postgresVersion} (embedded, durable: fsync and synchronous_commit on; ` +
      `${Object.entries(POSTGRES_SETTINGS).map(([k, v]) => `${k}=${v}`).join(', ')}). ` +
      'The database, the service and the load generator share the cores.',
    '',
    '| scenario | target | result | vs baselines | |',
    '|---|---|---|---|---|',
    `| ingest, 1 message per POST, 50 connections | >= 0.3x bare Hono, p99 <= 20 ms (>= 15,000 msg/s on the reference host) | ${value('ingest-single', 'perSecond')} msg/s, p99 ${value('ingest-single', 'p99', 1, ' ms')} | ${ratio('ingest-single', 'perSecond', 'bare-hono')}, ${ratio('ingest-single', 'perSecond', 'pgboss-send')} | ${verdict(m('ingest-single', 'perSecond') === undefined || m('bare-hono', 'perSecond') === undefined ? undefined : m('ingest-single', 'perSecond')! >= 0.3 * m('bare-hono', 'perSecond')! && m('ingest-single', 'p99')! <= 20)} |`,
    `| ingest, 100 messages per POST | >= 60,000 msg/s | ${value('ingest-batch', 'perSecond')} msg/s, p99 ${value('ingest-batch', 'p99', 1, ' ms')} | ${ratio('ingest-batch', 'perSecond', 'raw-insert')}, ${ratio('ingest-batch', 'perSecond', 'pgboss-insert')} | ${verdict(m('ingest-batch', 'perSecond') === undefined ? undefined : m('ingest-batch', 'perSecond')! >= 60_000)} |`,
    `| overload: single publishes at 1.5x the sustained ${value('overload', 'sustainedPerSecond')}/s, 256 connections, 10 s client timeout | no client timeouts, nothing lost | offered ${value('overload', 'offeredPerSecond')}/s: accepted ${value('overload', 'acceptedPerSecond')}/s (p99 ${value('overload', 'p99', 1, ' ms')}), refused ${value('overload', 'refusedPerSecond')}/s; timeouts ${value('overload', 'timeouts')}, failed ${value('overload', 'failed')}; RSS ${value('overload', 'rssMb', 0, ' MB')}; lost ${value('overload', 'lost')}, committed after a timeout ${value('overload', 'lateCommits')}; routing drained ${value('overload', 'drainSeconds', 1, ' s')} after the load | | ${verdict(m('overload', 'timeouts') === undefined ? undefined : m('overload', 'timeouts') === 0 && m('overload', 'lost') === 0)} |`,
    `| routing from a backlog, 1 recipient each | >= 40,000 msg/s | ${value('routing', 'perSecond')} msg/s | ${ratio('routing', 'perSecond', 'raw-insert')} | ${verdict(m('routing', 'perSecond') === undefined ? undefined : m('routing', 'perSecond')! >= 40_000)} |`,
    `| fan-out, 1 message to ${formatNumber(scale.fanoutSubscribers)} subscribers | >= 60,000 rows/s | ${value('fanout', 'perSecond')} rows/s | ${ratio('fanout', 'perSecond', 'raw-insert')} | ${verdict(m('fanout', 'perSecond') === undefined ? undefined : m('fanout', 'perSecond')! >= 60_000)} |`,
    `| fan-out with filters: half of ${formatNumber(scale.fanoutSubscribers)} subscribers filtered, a quarter matching | >= 60,000 rows/s | ${value('fanout-filtered', 'perSecond')} rows/s | ${ratio('fanout-filtered', 'perSecond', 'fanout')} | ${verdict(m('fanout-filtered', 'perSecond') === undefined ? undefined : m('fanout-filtered', 'perSecond')! >= 60_000)} |`,
    `| routing from a backlog with ${scenarios.BENCH_RULES} routing rules | >= 75% of rule-free routing | ${value('routing-rules', 'perSecond')} msg/s | ${ratio('routing-rules', 'perSecond', 'routing')} | ${verdict(m('routing-rules', 'perSecond') === undefined || m('routing', 'perSecond') === undefined ? undefined : m('routing-rules', 'perSecond')! >= 0.75 * m('routing', 'perSecond')!)} |`,
    `| receive + ack over HTTP, 100 per call, 4 consumers | >= 2x pg-boss fetch + complete, >= 0.4x SKIP LOCKED | ${value('receive-ack', 'perSecond')} msg/s | ${ratio('receive-ack', 'perSecond', 'skip-locked')}, ${ratio('receive-ack', 'perSecond', 'pgboss-fetch')} | ${verdict(m('receive-ack', 'perSecond') === undefined || m('pgboss-fetch', 'perSecond') === undefined || m('skip-locked', 'perSecond') === undefined ? undefined : m('receive-ack', 'perSecond')! >= 2 * m('pgboss-fetch', 'perSecond')! && m('receive-ack', 'perSecond')! >= 0.4 * m('skip-locked', 'perSecond')!)} |`,
    ...(['sse', 'ws'] as const).map((t) => `| live-path knee, one ${t === 'ws' ? 'WebSocket' : 'SSE stream'}: highest rate with publish-to-receipt p99 <= 50 ms | >= 3x pg-boss's knee | ${value(`${t}-knee`, 'knee')} msg/s (ending at the first failed step: ${value(`${t}-knee`, 'strictKnee')}) | pg-boss ${value('pgboss-knee', 'knee')} msg/s (ending at the first failed step: ${value('pgboss-knee', 'strictKnee')}): ${ratio(`${t}-knee`, 'knee', 'pgboss-knee', 'knee')} | ${verdict(m(`${t}-knee`, 'knee') === undefined || m('pgboss-knee', 'knee') === undefined ? undefined : m(`${t}-knee`, 'knee')! >= 3 * m('pgboss-knee', 'knee')!)} |`),
    `| broadcast: ${formatNumber(scale.broadcastStreams)} SSE streams on one topic in one push process, 1 message every ${scale.broadcastIntervalMs / 1000} s x ${scale.broadcastMessages} | last receipt p99 <= 500 ms, every stream every message once | last receipt p50 ${value('broadcast', 'p50', 0, ' ms')}, p99 ${value('broadcast', 'p99', 0, ' ms')}, max ${value('broadcast', 'max', 0, ' ms')}; ${value('broadcast', 'open')} open, missing ${value('broadcast', 'missing')}, twice ${value('broadcast', 'duplicates')} | | ${verdict(m('broadcast', 'p99') === undefined ? undefined : m('broadcast', 'p99')! <= 500 && m('broadcast', 'missing') === 0 && m('broadcast', 'duplicates') === 0 && m('broadcast', 'open')! >= scale.broadcastStreams)} |`,
    `| publish to SSE receipt at ${value('sse-latency', 'rate')}/s (1,000/s or half pg-boss's knee) | p50 <= 5 ms, p99 <= 15 ms, both below pg-boss | p50 ${value('sse-latency', 'p50', 1, ' ms')}, p99 ${value('sse-latency', 'p99', 1, ' ms')} | pg-boss p50 ${value('pgboss-latency', 'p50', 1, ' ms')}, p99 ${value('pgboss-latency', 'p99', 1, ' ms')} | ${verdict(m('sse-latency', 'p50') === undefined || m('pgboss-latency', 'p50') === undefined ? undefined : m('sse-latency', 'p50')! <= 5 && m('sse-latency', 'p99')! <= 15 && m('sse-latency', 'p50')! < m('pgboss-latency', 'p50')! && m('sse-latency', 'p99')! < m('pgboss-latency', 'p99')!)} |`,
    `| publish to WebSocket receipt at ${value('ws-latency', 'rate')}/s, same run | as SSE | p50 ${value('ws-latency', 'p50', 1, ' ms')}, p99 ${value('ws-latency', 'p99', 1, ' ms')} | SSE p50 ${value('sse-latency', 'p50', 1, ' ms')}, p99 ${value('sse-latency', 'p99', 1, ' ms')} | ${verdict(m('ws-latency', 'p50') === undefined ? undefined : m('ws-latency', 'p50')! <= 5 && m('ws-latency', 'p99')! <= 15)} |`,
    `| receive + ack over WebSocket, @switchyard/client batching | >= receive + ack over HTTP | ${value('receive-ack-ws', 'perSecond')} msg/s | ${ratio('receive-ack-ws', 'perSecond', 'receive-ack')} | ${verdict(m('receive-ack-ws', 'perSecond') === undefined || m('receive-ack', 'perSecond') === undefined ? undefined : m('receive-ack-ws', 'perSecond')! >= m('receive-ack', 'perSecond')!)} |`,
    ...(['sse', 'ws'] as const).map((t) => `| ${formatNumber(scale.idleStreams)} idle ${t === 'ws' ? 'WebSockets' : 'SSE streams'} in one process | <= 25 KB each | ${value(`idle-${t}`, 'kbPerStream', 1, ' KB')} per ${t === 'ws' ? 'socket' : 'stream'} (${value(`idle-${t}`, 'open')} open, RSS ${value(`idle-${t}`, 'rssMb', 0, ' MB')}) | | ${verdict(m(`idle-${t}`, 'kbPerStream') === undefined ? undefined : m(`idle-${t}`, 'kbPerStream')! <= 25 && m(`idle-${t}`, 'open')! >= scale.idleStreams)} |`),
    `| content classification from a backlog, 1 analytics worker | (measured) | ${value('classify', 'perSecond')} msg/s labelled (${value('classify', 'sampledOut')} of ${formatNumber(scale.classifyBacklog)} sampled out) | | |`,
    ...(['auto', 'lease'] as const).map((mode) => `| ${MEASURES.find((x) => x.key === `stream-carry-${mode}`)!.title} | (measured) | ` +
      `${value(`stream-carry-${mode}`, 'perSecond')} msg/s; ${value(`stream-carry-${mode}`, 'perClaim', 1)} messages per claim, ${value(`stream-carry-${mode}`, 'claimMs', 2, ' ms')} each` +
      `${mode === 'lease' ? `; ${value('stream-carry-lease', 'perAck', 1)} receipts per ack, ${value('stream-carry-lease', 'ackMs', 2, ' ms')} each` : ''}; left ${value(`stream-carry-${mode}`, 'left')} | | |`),
    '',
    '| baseline, same database, same run | result |',
    '|---|---|',
    ...['raw-insert', 'skip-locked', 'pgboss-send', 'pgboss-insert', 'pgboss-fetch'].map((key) =>
      `| ${MEASURES.find((x) => x.key === key)!.title} | ${value(key, 'perSecond')} /s |`),
    `| ${MEASURES.find((x) => x.key === 'bare-hono')!.title} | ${value('bare-hono', 'perSecond')} /s, p99 ${value('bare-hono', 'p99', 1, ' ms')} |`,
    `| ${MEASURES.find((x) => x.key === 'pgboss-knee')!.title} | ${value('pgboss-knee', 'knee')} /s (ending at the first failed step: ${value('pgboss-knee', 'strictKnee')}) |`,
    `| ${MEASURES.find((x) => x.key === 'pgboss-latency')!.title}, ${value('pgboss-latency', 'rate')}/s | p50 ${value('pgboss-latency', 'p50', 1, ' ms')}, p99 ${value('pgboss-latency', 'p99', 1, ' ms')} |`,
    '',
    `Where the time of publish to SSE receipt goes, at ${value('sse-trace', 'rate')}/s (\`sse-trace\`: the fixed-rate load with probe triggers noting when each delivery row and receipt is written; ${value('sse-trace', 'traced')} messages traced, ${value('sse-trace', 'missing')} missing), in ms:`,
    '',
    '| segment | p50 | p90 | p99 |',
    '|---|---|---|---|',
    ...[['ingest', 'publish sent -> log row written'], ['wake', 'log row -> routing statement starts'], ['route', 'routing starts -> delivery row written'],
      ['handoff', 'delivery row -> the stream\'s claim writes the receipt'], ['send', 'receipt -> event read by the client'], ['total', 'total']]
      .map(([key, label]) => `| ${label} | ${value('sse-trace', `${key}P50`, 2)} | ${value('sse-trace', `${key}P90`, 2)} | ${value('sse-trace', `${key}P99`, 2)} |`),
    '',
    `Checks in the same runs: messages lost at ingest ${value('ingest-single', 'lost')} and ${value('ingest-batch', 'lost')} ` +
      `(accepted minus stored), failed requests ${value('ingest-single', 'failed')} and ${value('ingest-batch', 'failed')}; ` +
      `SSE messages not received ${value('sse-latency', 'lost')}, WebSocket ${value('ws-latency', 'lost')}; broadcast copies missing ${value('broadcast', 'missing')}; ` +
      `deliveries left after receive + ack ${value('receive-ack', 'left')}, over WebSocket ${value('receive-ack-ws', 'left')}; ` +
      `health check while the idle streams were open ${value('idle-sse', 'healthMs', 1, ' ms')}, WebSockets ${value('idle-ws', 'healthMs', 1, ' ms')}.`,
  ];
  return lines.join('\n');
}

async function writeResults(report: string): Promise<void> {
  const current = await readFile(RESULTS_FILE, 'utf8').catch(() => `# Benchmark results\n\n${START}\n${END}\n`);
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next = start >= 0 && end > start
    ? `${current.slice(0, start + START.length)}\n${report}\n${current.slice(end)}`
    : `${current}\n${START}\n${report}\n${END}\n`;
  await writeFile(RESULTS_FILE, next);
  progress(`wrote ${RESULTS_FILE}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
