// Idempotency-Key on publish: a retry gets the first result and publishes nothing; another body
// under the same key is 422; a request still in flight is 409; a retry after a crashed attempt
// publishes exactly once; keys are per client and expire after the window.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { claimIdempotencyKey } from '../src/idempotency/idempotency.repository.ts';
import { deleteExpiredKeys, fingerprintRequest, IDEMPOTENCY_LEASE_MIN_SECONDS, IdempotencyKeys, idempotencyLeaseSeconds } from '../src/idempotency/idempotency.service.ts';
import { uuidv7 } from '../src/messages/message-id.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { registerClient, type TestClient } from './helpers/factories.ts';
import { countRows, expectProblem } from './helpers/problems.ts';
import { startTestService, type TestService } from './helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let alice: TestClient;
let bob: TestClient;
let keyCounter = 0;
const newKey = () => `key-${Date.now()}-${keyCounter++}`;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
  alice = await registerClient(service.admin, 'alice');
  bob = await registerClient(service.admin, 'bob');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

async function messagesWithIds(ids: string[]): Promise<number> {
  const result = await sql<{ n: number }>`select count(*)::int as n from switchyard.message where id = any (${ids}::uuid[])`.execute(database.db);
  return result.rows[0]!.n;
}

async function messageCount(): Promise<number> {
  return (await countRows(database.db)).messages;
}

/** A key row as an attempt of alice's left it. */
async function insertKeyRow(key: string, body: unknown, ids: string[], o: { lockedForSeconds: number; expiresInSeconds?: number; path?: string; holder?: string }) {
  await sql`
    insert into switchyard.idempotency_key (client_id, key, fingerprint, state, message_ids, response_status, response_body, locked_until, expires_at, holder)
    values (${alice.id}, ${key}, ${fingerprintRequest('POST', o.path ?? '/v1/messages', body)}, 'in_progress', ${ids}::uuid[], 202, ${JSON.stringify(ids.map((id) => ({ id, duplicate: false })))}::jsonb,
            now() + make_interval(secs => ${o.lockedForSeconds}), now() + make_interval(secs => ${o.expiresInSeconds ?? 3600}), ${o.holder ?? null})`.execute(database.db);
}

/** Another live process, as the service sees one: a session named like a listener. Returns its end. */
async function anotherLiveProcess(instance: string): Promise<() => Promise<void>> {
  const session = new pg.Client({ connectionString: database.url, application_name: `switchyard:listen:${instance}` });
  await session.connect();
  return () => session.end();
}

describe('a retry with the same key', () => {
  test('and the same body gets the stored result, marked as replayed, and publishes nothing', async () => {
    const key = newKey();
    const message = { to: 'topic:news', payload: { n: 1, list: [1, 2] } };
    const first = await alice.api.post('/v1/messages', message, { 'idempotency-key': `"${key}"` });
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const before = await messageCount();
    // the same request: quoted or bare key, keys of the body in another order
    const again = await alice.api.raw('POST', '/v1/messages', '{ "payload": {"list": [1, 2], "n": 1}, "to": "topic:news" }', { 'content-type': 'application/json', 'idempotency-key': key });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await messageCount()).toBe(before);
  });

  test('works for batches too', async () => {
    const key = newKey();
    const batch = { messages: [{ to: 'topic:news', payload: 1 }, { to: 'topic:news', payload: 2 }] };
    const first = await alice.api.post('/v1/messages/batch', batch, { 'idempotency-key': key });
    const again = await alice.api.post('/v1/messages/batch', batch, { 'idempotency-key': key });
    expect(again.body).toEqual(first.body);
    expect(await messagesWithIds(first.body.ids)).toBe(2);
  });

  test('and another body is 422 IdempotencyKeyReused; so is the same key on the other endpoint', async () => {
    const key = newKey();
    await alice.api.post('/v1/messages', { to: 'topic:news', payload: 'first' }, { 'idempotency-key': key });
    const before = await countRows(database.db);
    expectProblem(await alice.api.post('/v1/messages', { to: 'topic:news', payload: 'second' }, { 'idempotency-key': key }), 422, 'IdempotencyKeyReused');
    expectProblem(await alice.api.post('/v1/messages/batch', { messages: [{ to: 'topic:news', payload: 'first' }] }, { 'idempotency-key': key }), 422, 'IdempotencyKeyReused');
    expect(await countRows(database.db)).toEqual(before);
  });

  test('from another client is another key', async () => {
    const key = newKey();
    const mine = await alice.api.post('/v1/messages', { to: 'topic:news', payload: 1 }, { 'idempotency-key': key });
    const theirs = await bob.api.post('/v1/messages', { to: 'topic:news', payload: 2 }, { 'idempotency-key': key });
    expect(theirs.status).toBe(202);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  test('sent many times at once publishes once; the others get the result or 409', async () => {
    const key = newKey();
    const replies = await Promise.all(Array.from({ length: 8 }, () => alice.api.post('/v1/messages', { to: 'topic:news', payload: 'once' }, { 'idempotency-key': key })));
    const ids = new Set(replies.filter((r) => r.status === 202).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    for (const reply of replies.filter((r) => r.status !== 202)) expectProblem(reply, 409, 'IdempotencyKeyInFlight');
    expect(await messagesWithIds([...ids] as string[])).toBe(1);
    const published = await sql<{ n: number }>`select count(*)::int as n from switchyard.message where payload = '"once"'::jsonb`.execute(database.db);
    expect(published.rows[0]!.n).toBe(1);
  });
});

describe('while the first attempt is running, and after it died', () => {
  test('a request still in flight is 409 IdempotencyKeyInFlight with Retry-After', async () => {
    const key = newKey();
    const message = { to: 'topic:news', payload: 'slow' };
    await insertKeyRow(key, message, [uuidv7()], { lockedForSeconds: 60 });
    const reply = await alice.api.post('/v1/messages', message, { 'idempotency-key': key });
    expectProblem(reply, 409, 'IdempotencyKeyInFlight');
    expect(reply.headers.get('retry-after')).toBe('1');
  });

  test('an attempt whose process is gone is taken over at once, though its lease has a minute to run', async () => {
    const key = newKey();
    const message = { to: 'topic:news', payload: 'holder was SIGKILLed' };
    const chosen = uuidv7();
    await insertKeyRow(key, message, [chosen], { lockedForSeconds: 60, holder: 'a-process-that-is-gone' });
    const retry = await alice.api.post('/v1/messages', message, { 'idempotency-key': key });
    expect(retry.status).toBe(202);
    expect(retry.body.id).toBe(chosen);
    expect(await messagesWithIds([chosen])).toBe(1);
  });

  test('an attempt whose process is alive stays in flight until its lease runs out', async () => {
    const key = newKey();
    const message = { to: 'topic:news', payload: 'holder still working' };
    const end = await anotherLiveProcess('still-working');
    try {
      await insertKeyRow(key, message, [uuidv7()], { lockedForSeconds: 60, holder: 'still-working' });
      expectProblem(await alice.api.post('/v1/messages', message, { 'idempotency-key': key }), 409, 'IdempotencyKeyInFlight');
    } finally {
      await end();
    }
  });

  test('a lease runs out on the injected clock: in flight just before, taken over just after', async () => {
    const key = newKey();
    const fingerprint = fingerprintRequest('POST', '/v1/messages', { to: 'topic:news', payload: 'clocked' });
    const chosen = uuidv7();
    let clock = new Date();
    const end = await anotherLiveProcess('clocked-holder');
    try {
      expect(await claimIdempotencyKey(database.db, {
        clientId: alice.id, key, fingerprint, messageIds: [chosen], responseStatus: 202, responseBody: { id: chosen },
        leaseSeconds: 30, windowSeconds: 3600, holder: 'clocked-holder',
      }, clock)).toBe(true);
      const keys = new IdempotencyKeys(database.db, 3600, 30, 'another-process', () => clock);
      const commits: string[][] = [];
      const retry = () => keys.run({ clientId: alice.id, key, fingerprint }, [{ id: uuidv7() }], async (items) => {
        commits.push(items.map((item) => item.id));
      }, 202, (ids) => ({ id: ids[0] }));
      clock = new Date(clock.getTime() + 29_000);
      await expect(retry()).rejects.toMatchObject({ code: 'IdempotencyKeyInFlight' });
      clock = new Date(clock.getTime() + 2_000);
      expect(await retry()).toMatchObject({ status: 202, body: { id: chosen }, replayed: false });
      expect(commits).toEqual([[chosen]]); // under the ids the first attempt had chosen
    } finally {
      await end();
    }
  });

  test('an attempt that died after its commit: the retry finds its messages and returns them', async () => {
    const key = newKey();
    const message = { to: 'topic:news', payload: 'committed, then crashed' };
    const published = await alice.api.post('/v1/messages', message);
    await insertKeyRow(key, message, [published.body.id], { lockedForSeconds: -1 });
    const before = await messageCount();
    const retry = await alice.api.post('/v1/messages', message, { 'idempotency-key': key });
    expect(retry.status).toBe(202);
    expect(retry.body.id).toBe(published.body.id);
    expect(await messageCount()).toBe(before);
    const state = await sql<{ state: string }>`select state from switchyard.idempotency_key where client_id = ${alice.id} and key = ${key}`.execute(database.db);
    expect(state.rows[0]!.state).toBe('done');
  });

  test('an attempt that died before its commit: the retry publishes under the ids it had chosen', async () => {
    const key = newKey();
    const message = { to: 'topic:news', payload: 'crashed before commit' };
    const chosen = uuidv7();
    await insertKeyRow(key, message, [chosen], { lockedForSeconds: -1 });
    const retry = await alice.api.post('/v1/messages', message, { 'idempotency-key': key });
    expect(retry.status).toBe(202);
    expect(retry.body.id).toBe(chosen);
    expect(await messagesWithIds([chosen])).toBe(1);
  });
});

describe('the window', () => {
  test('an expired key is free again, and the upkeep deletes expired keys', async () => {
    const key = newKey();
    await insertKeyRow(key, { to: 'topic:news', payload: 'long ago' }, [uuidv7()], { lockedForSeconds: -7200, expiresInSeconds: -3600 });
    const fresh = await alice.api.post('/v1/messages', { to: 'topic:news', payload: 'another body' }, { 'idempotency-key': key });
    expect(fresh.status).toBe(202);
    expect(fresh.headers.get('idempotent-replayed')).toBeNull();

    const stale = newKey();
    await insertKeyRow(stale, { to: 'topic:news', payload: 1 }, [uuidv7()], { lockedForSeconds: -7200, expiresInSeconds: -1 });
    expect(await deleteExpiredKeys(database.db)).toBe(1);
    const left = await sql<{ key: string }>`select key from switchyard.idempotency_key where key in (${key}, ${stale})`.execute(database.db);
    expect(left.rows.map((r) => r.key)).toEqual([key]);
  });

  test('keeps a key for SWITCHYARD_IDEMPOTENCY_WINDOW_SECONDS', async () => {
    const key = newKey();
    await alice.api.post('/v1/messages', { to: 'topic:news', payload: 1 }, { 'idempotency-key': key });
    const row = await sql<{ seconds: number }>`
      select extract(epoch from expires_at - created_at)::int as seconds from switchyard.idempotency_key where client_id = ${alice.id} and key = ${key}`.execute(database.db);
    expect(row.rows[0]!.seconds).toBe(24 * 3600);
  });
});

describe('refusals leave no key behind', () => {
  test('a refused publish stores no key, and the key stays usable', async () => {
    const key = newKey();
    expectProblem(await alice.api.post('/v1/messages', { to: 'group:secret', payload: 1 }, { 'idempotency-key': key }), 403, 'NotAGroupMember');
    expectProblem(await alice.api.post('/v1/messages', { to: 'nowhere', payload: 1 }, { 'idempotency-key': key }), 400, 'ValidationFailed');
    const keys = await sql<{ n: number }>`select count(*)::int as n from switchyard.idempotency_key where key = ${key}`.execute(database.db);
    expect(keys.rows[0]!.n).toBe(0);
    expect((await alice.api.post('/v1/messages', { to: 'topic:news', payload: 1 }, { 'idempotency-key': key })).status).toBe(202);
  });

  test('a key that is not a structured-field string is a 400', async () => {
    for (const key of ['', '"unterminated', 'has space', 'a"b', 'x'.repeat(256)]) {
      expectProblem(await alice.api.post('/v1/messages', { to: 'topic:news', payload: 1 }, { 'idempotency-key': key }), 400, 'ValidationFailed', 'idempotency-key');
    }
  });
});

describe('the lease of an attempt', () => {
  test('outlasts any statement of the publish (twice the statement timeout, rounded up) and is never under a minute', () => {
    expect(idempotencyLeaseSeconds(100)).toBe(IDEMPOTENCY_LEASE_MIN_SECONDS);
    expect(idempotencyLeaseSeconds(30_000)).toBe(60); // the default statement timeout: exactly the minimum
    expect(idempotencyLeaseSeconds(30_001)).toBe(61);
    expect(idempotencyLeaseSeconds(600_000)).toBe(1_200);
  });
});
