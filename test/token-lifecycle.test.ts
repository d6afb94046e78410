// Tokens: 256 random bits, stored only as a hash, never logged. Rotation and revocation through the
// admin API and the CLI take effect at once in every process, and close open streams within one
// heartbeat interval.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startSwitchyard, type Switchyard } from '../src/main.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, publish, registerClient } from './helpers/factories.ts';
import { api } from './helpers/http.ts';
import { expectProblem } from './helpers/problems.ts';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from './helpers/service.ts';
import { openEventStream } from './helpers/sse.ts';

const HEARTBEAT_MS = 1_000; // the test services' SWITCHYARD_SSE_HEARTBEAT_MS
const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../src/cli.ts');

let database: TestDatabase;
let service: TestService; // where admins act
let other: TestService; // another process on the same database: only NOTIFY tells it anything

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
  other = await startTestService(database.url, { SWITCHYARD_ROLES: 'router,push' });
});

afterAll(async () => {
  await other?.stop();
  await service?.stop();
  await database?.drop();
});

describe('tokens', () => {
  test('are 256 random bits, stored only as their SHA-256', async () => {
    const client = await registerClient(service.admin, 'tina');
    expect(Buffer.from(client.token.slice('sy_'.length), 'base64url')).toHaveLength(32);
    const row = await sql<{ token_hash: Buffer; row: string }>`
      select token_hash, c::text as row from switchyard.client c where id = ${client.id}`.execute(database.db);
    expect(row.rows[0]!.token_hash.equals(createHash('sha256').update(client.token).digest())).toBe(true);
    expect(row.rows[0]!.row).not.toContain(client.token.slice(3));
  });

  test('are never logged, not even at debug level or when sent as access_token', async () => {
    const lines: string[] = [];
    const config = loadConfig({ DATABASE_URL: database.url, PORT: '0', SWITCHYARD_ADMIN_TOKEN: TEST_ADMIN_TOKEN, SWITCHYARD_ROLES: 'router,push', LOG_LEVEL: 'debug' });
    const logged: Switchyard = await startSwitchyard(config, { log: createLogger('debug', {}, (line) => lines.push(line) > 0), migrate: false });
    try {
      const admin = api(logged.url, TEST_ADMIN_TOKEN);
      const registered = await admin.post('/v1/clients', { name: 'logan' });
      const token: string = registered.body.token;
      await api(logged.url, token).get('/v1/clients/me');
      await api(logged.url, token).post('/v1/messages', { to: 'nowhere', payload: 1 });
      const stream = await openEventStream(`${logged.url}/v1/inbox/stream?access_token=${token}`);
      stream.close();
      await api(logged.url, `${token}x`).get('/v1/clients/me');
      await admin.post(`/v1/admin/clients/${registered.body.id}/rotate`);
      expect(lines.length).toBeGreaterThan(3);
      const text = lines.join('');
      for (const secret of [token, token.slice(3), TEST_ADMIN_TOKEN]) expect(text).not.toContain(secret);
    } finally {
      await logged.stop();
    }
  });
});

describe('rotation', () => {
  test('a new token works at once, the old one fails at once, in this process and the other', async () => {
    const client = await registerClient(service.admin, 'rosa', ['topic:news']);
    const elsewhere = other.anonymous.as(client.token);
    expect((await elsewhere.get('/v1/clients/me')).status).toBe(200); // cached over there now
    const rotated = await service.admin.post(`/v1/admin/clients/${client.id}/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ id: client.id, name: 'rosa', listen_to: ['topic:news', 'user:rosa'], token: expect.stringMatching(/^sy_/) });
    expectProblem(await client.api.get('/v1/clients/me'), 401, 'TokenInvalid');
    await eventually(async () => ((await elsewhere.get('/v1/clients/me')).status === 401 ? true : undefined), 2_000, 'the other process to refuse the old token');
    expect((await other.anonymous.as(rotated.body.token).get('/v1/clients/me')).body.id).toBe(client.id);
  });

  test('the client keeps its queue: what waited for the old token is there for the new one', async () => {
    const client = await registerClient(service.admin, 'quinn');
    const sender = await registerClient(service.admin, 'sender');
    const id = await publish(sender, { to: 'user:quinn', payload: 'kept' });
    const rotated = await service.admin.post(`/v1/admin/clients/${client.id}/rotate`);
    const received = await service.anonymous.as(rotated.body.token).get('/v1/inbox?wait=5');
    expect(received.body.messages.map((m: { id: string }) => m.id)).toEqual([id]);
  });
});

describe('revocation', () => {
  test('the token fails at once everywhere; the client is unsubscribed and its queue emptied', async () => {
    const client = await registerClient(service.admin, 'vera', ['topic:news']);
    const sender = await registerClient(service.admin, 'sam');
    await publish(sender, { to: 'user:vera', payload: 'never read' });
    await eventually(async () => {
      const rows = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where client_id = ${client.id}`.execute(database.db);
      return rows.rows[0]!.n > 0 ? true : undefined;
    }, 10_000, "vera's delivery");
    expect((await other.anonymous.as(client.token).get('/v1/clients/me')).status).toBe(200);

    const revoked = await service.admin.post(`/v1/admin/clients/${client.id}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: client.id, listen_to: [], revoked_at: expect.any(String) });
    expectProblem(await client.api.get('/v1/clients/me'), 401, 'TokenInvalid');
    await eventually(async () => ((await other.anonymous.as(client.token).get('/v1/clients/me')).status === 401 ? true : undefined), 2_000, 'the other process to refuse it');
    const left = await sql<{ subscriptions: number; deliveries: number }>`
      select (select count(*)::int from switchyard.subscription where client_id = ${client.id}) as subscriptions,
             (select count(*)::int from switchyard.delivery where client_id = ${client.id}) as deliveries`.execute(database.db);
    expect(left.rows[0]).toEqual({ subscriptions: 0, deliveries: 0 });

    const again = await service.admin.post(`/v1/admin/clients/${client.id}/revoke`);
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);
    expectProblem(await service.admin.post(`/v1/admin/clients/${client.id}/rotate`), 409, 'ClientRevoked');
    expect((await service.admin.get(`/v1/admin/clients/${client.id}`)).body.revoked_at).toBe(revoked.body.revoked_at);
    expectProblem(await service.admin.post('/v1/admin/clients/987654321/revoke'), 404, 'NotFound');
  });

  test.each([
    ['the header', (token: string) => [`/v1/inbox/stream`, { token }] as const],
    ['access_token', (token: string) => [`/v1/inbox/stream?access_token=${token}`, {}] as const],
  ])('an open stream authenticated by %s, in another process, closes within one heartbeat, saying why', async (_how, open) => {
    const client = await registerClient(service.admin, 'stella');
    const [streamPath, options] = open(client.token);
    const stream = await openEventStream(other.url + streamPath, options);
    expect(stream.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the stream is waiting now
    const revokedAt = Date.now();
    expect((await service.admin.post(`/v1/admin/clients/${client.id}/revoke`)).status).toBe(200);
    const event = await stream.next(HEARTBEAT_MS * 2);
    const closedAfter = Date.now() - revokedAt;
    expect(event).toMatchObject({ event: 'closed', data: expect.stringContaining('TokenInvalid') });
    await stream.next(500);
    expect(stream.ended).toBe(true);
    expect(closedAfter).toBeLessThan(HEARTBEAT_MS);
  });

  test('a long poll waiting with a token that is rotated ends at once, empty', async () => {
    const client = await registerClient(service.admin, 'paula');
    const polling = other.anonymous.as(client.token).get('/v1/inbox?wait=20');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await service.admin.post(`/v1/admin/clients/${client.id}/rotate`);
    const reply = await polling;
    expect(reply.body.messages).toEqual([]);
    expect(Date.now() - started).toBeLessThan(HEARTBEAT_MS * 2);
  });
});

describe('the CLI', () => {
  async function cli(...args: string[]) {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.url, LOG_LEVEL: 'silent' }, timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  test('clients rotate ID prints a new token; running services refuse the old one at once', async () => {
    const client = await registerClient(service.admin, 'cleo');
    expect((await client.api.get('/v1/clients/me')).status).toBe(200);
    const result = await cli('clients', 'rotate', client.id);
    expect(result.code, result.stderr).toBe(0);
    const token = /shown once: (sy_\S+)/.exec(result.stdout)?.[1];
    expect(token).toBeDefined();
    await eventually(async () => ((await client.api.get('/v1/clients/me')).status === 401 ? true : undefined), 2_000, 'the old token to fail');
    expect((await service.anonymous.as(token).get('/v1/clients/me')).status).toBe(200);
  });

  test('clients revoke ID revokes; an unknown or malformed id is an error', async () => {
    const client = await registerClient(service.admin, 'cid');
    expect((await client.api.get('/v1/clients/me')).status).toBe(200);
    const result = await cli('clients', 'revoke', client.id);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`client ${client.id} (cid) revoked at`);
    await eventually(async () => ((await client.api.get('/v1/clients/me')).status === 401 ? true : undefined), 2_000, 'the token to fail');
    expect(await cli('clients', 'revoke', '987654321')).toMatchObject({ code: 1, stderr: expect.stringContaining('there is no client 987654321') });
    expect(await cli('clients', 'rotate', 'abc')).toMatchObject({ code: 2, stderr: expect.stringContaining('not a client id') });
  });
});
