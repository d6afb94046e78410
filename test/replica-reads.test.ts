// Reads from a streaming replica (SWITCHYARD_READ_REPLICA_URL) and a multi-host DATABASE_URL, on a
// real primary and a standby made by pg_basebackup, from the machine's own PostgreSQL packages
// (the embedded server's package has no pg_basebackup). Without them the file is skipped, and says why.
// This file is also where the schema is proven on that version (15 on Debian 12): the migrations run there.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDb, createPool, type Db } from '../src/db/database.ts';
import { migrateToLatest, withMigrationDb } from '../src/db/migrate.ts';
import { ReadReplica } from '../src/db/read-replica.ts';
import { createLogger } from '../src/logger.ts';
import { eventually, publish, registerClient, type TestClient } from './helpers/factories.ts';
import { findPostgresBin, freePort, runTool, startPrimary, startStandby, type LocalServer } from './helpers/local-postgres.ts';
import { startTestService, type TestService } from './helpers/service.ts';

const found = findPostgresBin();
const skipReason = 'reason' in found ? found.reason : undefined;
if (skipReason) process.stderr.write(`test/replica-reads.test.ts skipped: ${skipReason}\n`);
/** The standby replays each commit this long after it was made: long enough to be seen, short enough to wait for. */
const APPLY_DELAY_MS = 1_500;

const log = createLogger('silent');
let primary: LocalServer;
let standby: LocalServer;
let service: TestService;
let alice: TestClient;
let bob: TestClient;
let migrations: string[];

async function sqlOn(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

describe.skipIf(skipReason !== undefined)(`on PostgreSQL ${'version' in found ? found.version : '?'} with a streaming replica`, () => {
  beforeAll(async () => {
    const bin = (found as { bin: string }).bin;
    primary = await startPrimary(bin);
    await sqlOn(primary.url(), 'create database switchyard');
    migrations = await withMigrationDb(primary.url('switchyard'), log, migrateToLatest);
    standby = await startStandby(bin, primary, { recovery_min_apply_delay: `${APPLY_DELAY_MS}ms` });
    // Listed out of order on purpose: a dead port and the standby come before the primary.
    const hosts = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${standby.port}`, `127.0.0.1:${primary.port}`].join(',');
    service = await startTestService(`postgres://postgres@${hosts}/switchyard?target_session_attrs=read-write`, {
      SWITCHYARD_READ_REPLICA_URL: standby.url('switchyard'),
    });
    for (const user of ['alice', 'bob']) expect((await service.admin.put(`/v1/admin/groups/ops/members/${user}`)).status).toBe(200);
    alice = await registerClient(service.admin, 'alice', ['group:ops']);
    bob = await registerClient(service.admin, 'bob', ['group:ops']);
  });

  afterAll(async () => {
    await service?.stop();
    await standby?.stop('immediate');
    await primary?.stop('immediate');
    await primary?.remove();
  });

  test('every migration applies on this PostgreSQL version', async () => {
    expect(migrations.length).toBeGreaterThan(0);
    const { rows } = await sqlOn(primary.url('switchyard'), `select count(*)::int as n from switchyard.message`);
    expect(rows[0].n).toBeGreaterThanOrEqual(0);
  });

  test('with several hosts in DATABASE_URL the service works on the writable one, past a dead host and a standby', async () => {
    expect(service.databaseUrl).toBe(`postgres://postgres@127.0.0.1:${primary.port}/switchyard`);
    const id = await publish(alice, { to: 'group:ops', payload: 'picked' });
    const { rows } = await sqlOn(primary.url('switchyard'), `select count(*)::int as n from switchyard.message where id = '${id}'`);
    expect(rows[0].n).toBe(1);
  });

  test('a client reads its own message from history right after publishing, while another reader is served by the lagging replica', async () => {
    const id = await publish(alice, { to: 'group:ops', payload: 'read your writes' });
    // On the primary once the persistence stage has stored it; the replica replays it 1.5 s later.
    await eventually(async () => {
      const { rows } = await sqlOn(primary.url('switchyard'), `select 1 from switchyard.history where message_id = '${id}'`);
      return rows.length > 0 ? true : undefined;
    }, 10_000, 'history on the primary');
    const [mine, theirs] = await Promise.all([
      alice.api.get('/v1/history?conversation=group:ops&limit=5'),
      bob.api.get('/v1/history?conversation=group:ops&limit=5'),
    ]);
    expect(mine.body.messages.map((m: { id: string }) => m.id)).toContain(id);
    expect(theirs.body.messages.map((m: { id: string }) => m.id)).not.toContain(id); // bob has not written: the replica answered
    // ...and once the replica has replayed it, bob sees it too.
    await eventually(async () => {
      const page = await bob.api.get('/v1/history?conversation=group:ops&limit=5');
      return page.body.messages.some((m: { id: string }) => m.id === id) ? true : undefined;
    }, 10_000, 'history on the replica');
  });

  test('operators\' analytics and dead-letter reads are answered with the replica configured', async () => {
    const analytics = await service.admin.get('/v1/admin/analytics?minutes=5');
    expect(analytics.status, JSON.stringify(analytics.body)).toBe(200);
    expect(Array.isArray(analytics.body.minutes)).toBe(true);
    const deadLetters = await service.admin.get('/v1/admin/dead-letters?limit=5');
    expect(deadLetters.status, JSON.stringify(deadLetters.body)).toBe(200);
    expect(deadLetters.body).toEqual({ dead_letters: [], next_before: null });
  });

  describe('the fence', () => {
    let primaryDb: Db;
    let replicaDb: Db;
    beforeAll(() => {
      const options = { max: 2, statementTimeoutMs: 10_000, idleInTransactionTimeoutMs: 10_000, applicationName: 'switchyard:test' };
      primaryDb = createDb(createPool({ ...options, url: primary.url('switchyard') }, log));
      replicaDb = createDb(createPool({ ...options, url: standby.url('switchyard') }, log));
    });
    afterAll(async () => {
      await primaryDb?.destroy();
      await replicaDb?.destroy();
    });

    const readGroup = (name: string) => async (db: Db) => {
      const { rows } = await sql<{ found: boolean; on_replica: boolean }>`
        select exists (select 1 from switchyard.group_member where group_name = ${name}) as found, pg_is_in_recovery() as on_replica`.execute(db);
      return rows[0];
    };

    test('a recent writer\'s read waits for the replica to replay the primary\'s position, and is then served there', async () => {
      const replica = new ReadReplica(primaryDb, replicaDb, log, { fenceTimeoutMs: 10_000 }); // longer than the apply delay
      await sqlOn(primary.url('switchyard'), `insert into switchyard.group_member (group_name, user_name) values ('fence-wait', 'alice')`);
      replica.noteWrite('user:alice');
      const started = performance.now();
      expect(await replica.read('user:alice', readGroup('fence-wait'))).toEqual({ found: true, on_replica: true });
      expect(performance.now() - started).toBeGreaterThan(APPLY_DELAY_MS / 3); // it did wait
      expect(replica.counts).toEqual({ replica: 1, fenced: 1, primaryFallbacks: 0 });
    });

    test('a recent writer\'s read goes to the primary when the replica is later than the fence allows', async () => {
      const replica = new ReadReplica(primaryDb, replicaDb, log, { fenceTimeoutMs: 100 });
      await sqlOn(primary.url('switchyard'), `insert into switchyard.group_member (group_name, user_name) values ('fence-late', 'alice')`);
      replica.noteWrite('user:alice');
      expect(await replica.read('user:alice', readGroup('fence-late'))).toEqual({ found: true, on_replica: false });
      // A reader who has not written reads the replica at once, and does not see it yet.
      expect(await replica.read('user:bob', readGroup('fence-late'))).toEqual({ found: false, on_replica: true });
      expect(replica.counts).toEqual({ replica: 1, fenced: 0, primaryFallbacks: 1 });
    });
  });

  // Last: it ends the replication. A promoted standby is what a failover manager makes of it.
  test('after the standby is promoted and the primary stopped, the pools and the listener follow the new primary', async () => {
    await primary.stop('immediate');
    await runTool((found as { bin: string }).bin, 'pg_ctl', ['-D', standby.dataDir, '-w', 'promote']);
    const id = await eventually(async () => {
      const reply = await alice.api.post('/v1/messages', { to: 'group:ops', payload: 'after failover' });
      return reply.status === 202 ? reply.body.id as string : undefined;
    }, 20_000, 'a publish on the new primary');
    const received = await eventually(async () => {
      const reply = await bob.api.get('/v1/inbox?wait=1&max=50');
      const ids = reply.body.messages?.map((m: { id: string }) => m.id) ?? [];
      return ids.includes(id) ? ids : undefined;
    }, 20_000, 'delivery on the new primary');
    expect(received).toContain(id);
    // The LISTEN connection has followed too.
    await eventually(async () => {
      const { rows } = await sqlOn(standby.url('switchyard'), `select count(*)::int as n from pg_stat_activity where application_name like 'switchyard:listen:%'`);
      return rows[0].n === 1 ? true : undefined;
    }, 20_000, 'the listener on the new primary');
  });
});
