// Who may do what in the database (migration 0011): the service runs as a member of
// switchyard_service, which reads and writes rows but owns and creates nothing; operators read with
// switchyard_reader, which cannot see the secrets; nobody else may run the schema's functions, and
// none of them resolves names through the caller's search_path. On the embedded database the
// service logs in as switchyard_app, not as the superuser.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { createTestDatabase, TestLogins, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient } from '../helpers/factories.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let database: TestDatabase;
let logins: TestLogins;

async function as<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  logins = new TestLogins(database);
});

afterAll(async () => {
  await logins?.drop();
  await database?.drop();
});

async function rows<T>(db: Db, query: ReturnType<typeof sql<T>>): Promise<T[]> {
  return (await query.execute(db)).rows;
}

describe('the schema', () => {
  test('no function of the schema is executable by PUBLIC', async () => {
    const open = await rows(database.db, sql<{ name: string }>`
      select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'switchyard'
        and exists (select from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a where a.grantee = 0 and a.privilege_type = 'EXECUTE')`);
    expect(open).toEqual([]);
  });

  test('every function pins its search_path, or binds its names when created (a SQL-standard body)', async () => {
    const unpinned = await rows(database.db, sql<{ name: string }>`
      select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'switchyard' and p.prokind in ('f', 'p') and p.prosqlbody is null
        and not exists (select from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=%')`);
    expect(unpinned).toEqual([]);
    // The per-message helpers stay inlinable: a SET clause would stop that.
    const hot = await rows(database.db, sql<{ name: string; bound: boolean; config: string[] | null }>`
      select p.proname as name, p.prosqlbody is not null as bound, p.proconfig as config
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'switchyard' and p.proname in ('is_valid_address', 'conversation_of', 'lane_of') order by 1`);
    expect(hot).toEqual(['conversation_of', 'is_valid_address', 'lane_of'].map((name) => ({ name, bound: true, config: null })));
  });

  test('a look-alike function on the caller\'s search_path changes nothing the schema computes', async () => {
    // A SQL-standard body resolved hashtextextended when it was created; a caller's own version of it cannot step in.
    const lane = async () => (await sql<{ lane: number }>`select switchyard.lane_of('topic:news') as lane`.execute(database.db)).rows[0]!.lane;
    const before = await lane();
    await database.db.transaction().execute(async (tx) => {
      await sql`create schema decoy`.execute(tx);
      // It would move every conversation to another lane: (before + 1) mod 16.
      await sql.raw(`create function decoy.hashtextextended(text, bigint) returns bigint language sql return ${(before + 1) % 16}`).execute(tx);
      await sql`set local search_path = decoy, pg_catalog, switchyard`.execute(tx);
      expect((await sql<{ lane: number }>`select switchyard.lane_of('topic:news') as lane`.execute(tx)).rows[0]!.lane).toBe(before);
      throw new Error('roll back'); // leaves nothing behind
    }).catch((error: Error) => expect(error.message).toBe('roll back'));
  });

  test('the service role may not create anything, in the schema or the database', async () => {
    const [rights] = await rows(database.db, sql<{ schema: boolean; database: boolean; super: boolean }>`
      select has_schema_privilege('switchyard_service', 'switchyard', 'create') as schema,
             has_database_privilege('switchyard_service', current_database(), 'create') as database,
             (select rolsuper from pg_roles where rolname = 'switchyard_service') as super`);
    expect(rights).toEqual({ schema: false, database: false, super: false });
  });
});

describe('an operator with switchyard_reader', () => {
  test('reads the tables and views, but not the secrets, and cannot publish', async () => {
    const url = await logins.in('switchyard_reader');
    await as(url, async (client) => {
      expect((await client.query('select count(*)::int as n from switchyard.message')).rows[0].n).toBeGreaterThanOrEqual(0);
      await client.query('select * from switchyard.queue_overview limit 1');
      await expect(client.query('select * from switchyard_secret.setting')).rejects.toThrow(/permission denied/);
      await expect(client.query(`select switchyard.publish('topic:news', '1'::jsonb)`)).rejects.toThrow(/permission denied/);
    });
  });

  test('someone with no role at all cannot run publish', async () => {
    const url = await logins.in('pg_monitor');
    await as(url, async (client) => {
      await expect(client.query(`select switchyard.publish('topic:news', '1'::jsonb)`)).rejects.toThrow(/permission denied/);
    });
  });
});

describe('the service', () => {
  test('runs as a switchyard_service login, with the owner only for schema upkeep', async () => {
    const serviceUrl = await logins.in('switchyard_service');
    const service: TestService = await startTestService(serviceUrl, {
      SWITCHYARD_OWNER_DATABASE_URL: database.url,
      SWITCHYARD_ROLES: 'router,routing,persistence,analytics,push,upkeep',
    });
    try {
      const [me] = await rows(service.db, sql<{ user: string; super: boolean }>`
        select current_user as user, (select rolsuper from pg_roles where rolname = current_user) as super`);
      expect(me).toEqual({ user: new URL(serviceUrl).username, super: false });
      const alice = await registerClient(service.admin, 'alice');
      const bob = await registerClient(service.admin, 'bob');
      const id = await publish(alice, { to: 'user:bob', payload: 'hello' });
      const received = await eventually(async () => {
        const reply = await bob.api.get('/v1/inbox?wait=1');
        return reply.body.messages?.find((m: { id: string }) => m.id === id);
      }, 10_000, 'the message');
      expect((await bob.api.post('/v1/inbox/ack', { receipts: [received.receipt] })).body.acked).toBe(1);
      const login = await service.anonymous.post('/dashboard/session', { token: service.admin.token });
      expect(login.status).toBe(200); // the session key is read from the secret schema
      // What operators' numbers read (queue and stage statistics, stage lag) works with its rights.
      for (const path of ['/metrics', '/v1/admin/scaling', '/v1/admin/dashboard/snapshot', '/v1/admin/dead-letters']) {
        const reply = path === '/metrics' ? await service.anonymous.get(path) : await service.admin.get(path);
        expect(reply.status, `${path}: ${JSON.stringify(reply.body)}`).toBe(200);
      }
      await sql`select * from switchyard.stage_lag(row_cap => 100)`.execute(service.db);
    } finally {
      await service.stop();
    }
  });

  test('on the embedded database logs in as switchyard_app, not the superuser', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'switchyard-roles-'));
    let service: TestService | undefined;
    try {
      service = await startTestService(undefined, { SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_EMBEDDED_PG_PORT: '0' });
      const [me] = await rows(service.db, sql<{ user: string; super: boolean }>`
        select current_user as user, (select rolsuper from pg_roles where rolname = current_user) as super`);
      expect(me).toEqual({ user: 'switchyard_app', super: false });
      const carol = await registerClient(service.admin, 'carol');
      await publish(carol, { to: 'user:carol', payload: 'note to self' });
    } finally {
      await service?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
