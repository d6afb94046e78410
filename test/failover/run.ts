// npm run test:failover: PostgreSQL failover with nothing lost. A pg_auto_failover formation (a
// monitor, a primary and a synchronous standby) on this machine; Switchyard started on it with
// the multi-host DATABASE_URL; publishers record every 202 while a subscriber long-polls and
// acks; the primary is killed (keeper, then `pg_ctl stop -m immediate`); once the standby has
// taken over and the load has run a while longer, every accepted message must be on the new
// primary and delivered. Prints the client-visible outage. Exits 0 when nothing was lost,
// 1 when something was, and 0 with the reason printed when this machine cannot run it.
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startSwitchyard } from '../../src/main.ts';
import { api, type Api } from '../helpers/http.ts';
import { AutoFailoverCluster, failoverPrerequisites } from './auto-failover-cluster.ts';

const ADMIN_TOKEN = 'failover-admin-token-0123456789abcdef0123';
const PUBLISHERS = 8;
const PUBLISH_PAUSE_MS = 10; // per publisher: a few hundred messages a second, a load two shared cores carry
const BEFORE_KILL_MS = 4_000;
const AFTER_RECOVERY_MS = 5_000;
const RECOVERY_TIMEOUT_MS = 120_000;
const DRAIN_TIMEOUT_MS = 60_000;

const say = (line: string) => process.stdout.write(`[failover] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const prerequisites = failoverPrerequisites();
if ('reason' in prerequisites) {
  say(`skipped: ${prerequisites.reason}`);
  process.exit(0);
}

say('starting a pg_auto_failover monitor, a primary and a synchronous standby');
const cluster = await AutoFailoverCluster.start(prerequisites.bin, say);
let exitCode = 1;
try {
  const first = (await cluster.primary())!;
  const [version] = await cluster.query(first, 'select current_setting(\'server_version\') as v, current_setting(\'synchronous_standby_names\') as sync, current_setting(\'synchronous_commit\') as commit');
  say(`PostgreSQL ${version.v}; primary ${first.name}; synchronous_standby_names '${version.sync}', synchronous_commit ${version.commit}`);

  const config = loadConfig({
    // Quiet by default: during the outage every failed request logs (LOG_LEVEL=warn shows them).
    DATABASE_URL: cluster.url(), PORT: '0', SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    SWITCHYARD_RATE_LIMIT_PER_SECOND: '0', // the publishers share one client: its rate limit is not what is measured
    SWITCHYARD_STAGE_POLL_MS: '200', SWITCHYARD_INBOX_POLL_MS: '200',
  });
  const service = await startSwitchyard(config, { log: createLogger(config.logLevel, { run: 'failover' }) }); // migrations included: on 15
  say(`switchyard on ${service.url}, database ${service.databaseUrl}`);
  const admin = api(service.url, ADMIN_TOKEN);
  const register = async (name: string, listenTo: string[]): Promise<Api> => admin.as((await admin.post('/v1/clients', { name, listen_to: listenTo })).body.token);
  const publisher = await register('publisher', []);
  const subscriber = await register('subscriber', ['topic:failover']);

  // Load: every answer recorded with its time.
  const accepted = new Set<string>();
  const errors = new Map<string, number>();
  const failures: number[] = [];
  const acceptedAt: number[] = []; // when each 202 arrived
  let slowest = 0; // the longest a publish took to get its 202
  let stopLoad = false;
  let sequence = 0;
  const publishers = Array.from({ length: PUBLISHERS }, async () => {
    while (!stopLoad) {
      const n = sequence++;
      let status: string;
      try {
        const sentAt = performance.now();
        const reply = await publisher.post('/v1/messages', { to: 'topic:failover', payload: { n } });
        status = String(reply.status);
        if (reply.status === 202) {
          accepted.add(reply.body.id);
          acceptedAt.push(performance.now());
          slowest = Math.max(slowest, performance.now() - sentAt);
        }
        else status = `${reply.status} ${reply.body?.code ?? ''}`.trim();
      } catch (error) {
        status = `network ${(error as Error).message}`;
      }
      if (!status.startsWith('202')) {
        errors.set(status, (errors.get(status) ?? 0) + 1);
        failures.push(performance.now());
        await sleep(100);
      }
      await sleep(PUBLISH_PAUSE_MS);
    }
  });
  const received = new Map<string, number>();
  let stopConsuming = false;
  const consumeErrors = new Map<string, number>();
  const consumer = (async () => {
    while (!stopConsuming) {
      try {
        const reply = await subscriber.get('/v1/inbox?wait=1&max=100');
        if (reply.status !== 200) throw new Error(String(reply.status));
        for (const m of reply.body.messages as { id: string }[]) received.set(m.id, (received.get(m.id) ?? 0) + 1);
        if (reply.body.messages.length > 0) await subscriber.post('/v1/inbox/ack', { receipts: reply.body.messages.map((m: { receipt: string }) => m.receipt) });
      } catch (error) {
        consumeErrors.set((error as Error).message, (consumeErrors.get((error as Error).message) ?? 0) + 1);
        await sleep(200);
      }
    }
  })();

  await sleep(BEFORE_KILL_MS);
  const beforeKill = accepted.size;
  say(`before the kill: ${beforeKill} accepted, ${received.size} delivered`);
  const killedAt = performance.now();
  await cluster.kill(first);
  say(`killed ${first.name} (keeper SIGKILL, pg_ctl stop -m immediate) after ${beforeKill} accepted messages`);
  let promotedAt: number | undefined;
  let recoveredAt: number | undefined;
  for (;;) {
    if (performance.now() - killedAt > RECOVERY_TIMEOUT_MS) throw new Error('no recovery within the time limit');
    if (promotedAt === undefined && (await cluster.primary())) promotedAt = performance.now();
    const lastFailure = failures.at(-1) ?? 0;
    if (promotedAt !== undefined && lastFailure > killedAt && performance.now() - lastFailure > 1_000) {
      recoveredAt = lastFailure;
      break;
    }
    await sleep(100);
  }
  const second = (await cluster.primary())!;
  say(`${second.name} is the primary ${((promotedAt! - killedAt) / 1000).toFixed(1)} s after the kill; publishes fail no more`);
  await sleep(AFTER_RECOVERY_MS);
  stopLoad = true;
  await Promise.all(publishers);

  // Drain: every accepted message delivered, and stored on the new primary.
  const drainDeadline = performance.now() + DRAIN_TIMEOUT_MS;
  while ([...accepted].some((id) => !received.has(id)) && performance.now() < drainDeadline) await sleep(200);
  stopConsuming = true;
  await consumer;
  const ids = [...accepted];
  const [stored] = await cluster.query(second, 'select count(*)::int as n from switchyard.message where id = any($1::uuid[])', [ids]);
  const undelivered = ids.filter((id) => !received.has(id)).length;
  const duplicates = [...received.values()].filter((count) => count > 1).length;
  // The outage as clients see it: the longest time from the kill on in which no publish got its
  // 202 (publishes that waited for the synchronous standby count as waiting, not as failing).
  const after = [killedAt, ...acceptedAt.filter((t) => t > killedAt)];
  const outage = Math.max(...after.slice(1).map((t, i) => t - after[i]!)) / 1000;
  const failing = (recoveredAt! - (failures.find((t) => t >= killedAt) ?? recoveredAt!)) / 1000;
  const errorList = [...errors].map(([status, count]) => `${status}: ${count}`).join(', ') || 'none';
  say(`accepted ${ids.length}; on the new primary ${stored.n}; delivered ${ids.length - undelivered}; lost ${ids.length - stored.n}; undelivered ${undelivered}; delivered twice ${duplicates}`);
  say(`client-visible outage ${outage.toFixed(1)} s (longest time without a 202); publishes failing for ${failing.toFixed(1)} s; slowest 202 ${(slowest / 1000).toFixed(1)} s; failover ${((promotedAt! - killedAt) / 1000).toFixed(1)} s (kill to writable standby, as this script saw it); errors ${errorList}`);
  if (consumeErrors.size > 0) say(`subscriber errors: ${[...consumeErrors].map(([e, n]) => `${e}: ${n}`).join(', ')}`);
  say(`| failover, ${PUBLISHERS} publishers | ${ids.length} | ${stored.n} | ${ids.length - undelivered} | ${ids.length - stored.n} | ${duplicates} | ${errorList} | ${outage.toFixed(1)} s |`);
  exitCode = stored.n === ids.length && undelivered === 0 ? 0 : 1;
  await service.stop();
} catch (error) {
  say(`failed: ${(error as Error).stack ?? error}`);
} finally {
  await cluster.stop();
}
say(exitCode === 0 ? 'nothing lost' : 'FAILED');
process.exit(exitCode);
