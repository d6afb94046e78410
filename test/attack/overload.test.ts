// Admission control at ingest: when more publishes wait for a group commit than the limits allow,
// the next ones are refused at once with 503 Overloaded and Retry-After, instead of waiting until
// their clients time out; a publish whose client gave up while it waited is never written. The
// flush is held up by a transaction that locks the log, so what waits is decided by the test.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, registerClient, type TestClient } from '../helpers/factories.ts';
import { countRows, expectProblem } from '../helpers/problems.ts';
import { withLogLocked } from '../helpers/log-lock.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let alice: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_RATE_LIMIT_PER_SECOND: '0',
    SWITCHYARD_INGEST_MAX_QUEUED_MESSAGES: '2',
  }, { ingest: { concurrentFlushes: 1 } });
  alice = await registerClient(service.admin, 'alice', ['topic:load']);
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

/** Until this many publishes wait for a group commit, as the router's metric says. */
async function untilQueued(messages: number) {
  await eventually(async () => {
    const text = (await service.anonymous.get('/metrics')).body as string;
    return new RegExp(`^switchyard_ingest_queued_messages ${messages}$`, 'm').test(text) ? true : undefined;
  }, 5_000, `${messages} queued publishes`);
}

/** Until the router's flush (its append_messages statement) is blocked by the lock. */
async function untilFlushBlocked() {
  await eventually(async () => {
    const rows = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
      where wait_event_type = 'Lock' and query like '%switchyard.append_messages(%'`.execute(database.db);
    return rows.rows[0]!.n > 0 ? true : undefined;
  }, 5_000, 'a blocked flush');
}

const messageIds = async () =>
  (await sql<{ payload: unknown }>`select payload from switchyard.message where to_address = 'topic:load'`.execute(database.db)).rows.map((r) => r.payload);

describe('a full group-commit queue', () => {
  test('refuses the next publish at once with 503 Overloaded and Retry-After; everything accepted is committed', async () => {
    const { accepted, refused, refusedMs } = await withLogLocked(database.db, async () => {
      const first = alice.api.post('/v1/messages', { to: 'topic:load', payload: 'in flight' });
      await untilFlushBlocked();
      const waiting = [1, 2].map((i) => alice.api.post('/v1/messages', { to: 'topic:load', payload: `waiting ${i}` }));
      await untilQueued(2);
      const started = performance.now();
      const refused = await alice.api.post('/v1/messages', { to: 'topic:load', payload: 'one too many' });
      const refusedMs = performance.now() - started;
      // With an Idempotency-Key too, before the key is claimed: a retry later publishes it.
      expectProblem(await alice.api.post('/v1/messages', { to: 'topic:load', payload: 'keyed' }, { 'idempotency-key': 'overloaded-1' }), 503, 'Overloaded');
      expect((await countRows(database.db)).idempotency_keys).toBe(0);
      return { accepted: Promise.all([first, ...waiting]), refused, refusedMs };
    });
    expectProblem(refused, 503, 'Overloaded');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refusedMs).toBeLessThan(1_000);
    expect((await accepted).map((reply) => reply.status)).toEqual([202, 202, 202]);
    expect((await messageIds()).sort()).toEqual(['in flight', 'waiting 1', 'waiting 2']);
    expect((await alice.api.post('/v1/messages', { to: 'topic:load', payload: 'later' })).status).toBe(202); // drained: taken again
  });

  test('a publish whose client gives up while it waits is never written', async () => {
    const { kept } = await withLogLocked(database.db, async () => {
      const first = alice.api.post('/v1/messages', { to: 'topic:load', payload: 'kept' });
      await untilFlushBlocked();
      const gaveUp = new AbortController();
      const abandoned = fetch(`${service.url}/v1/messages`, {
        method: 'POST', signal: gaveUp.signal,
        headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'topic:load', payload: 'abandoned' }),
      }).catch(() => 'aborted');
      await untilQueued(1);
      gaveUp.abort();
      expect(await abandoned).toBe('aborted');
      await untilQueued(0); // the router saw the connection close and dropped it
      return { kept: first }; // not awaited here: it commits once the lock is gone
    });
    expect((await kept).status).toBe(202);
    expect(await messageIds()).not.toContain('abandoned');
  });
});

describe('configuration of the admission limits', () => {
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return '';
    } catch (error) {
      return (error as ConfigError).problems.join('\n');
    }
  };

  test('each has a default', () => {
    expect(loadConfig({}).ingest).toMatchObject({ maxQueuedMessages: 20_000, maxQueuedBytes: 64 * 1024 * 1024, maxWaitMs: 2_000 });
  });

  test('the smallest values are taken; below them the variable is named', () => {
    expect(loadConfig({ SWITCHYARD_INGEST_MAX_QUEUED_MESSAGES: '1', SWITCHYARD_INGEST_MAX_QUEUED_BYTES: '1024', SWITCHYARD_INGEST_MAX_WAIT_MS: '1' }).ingest)
      .toMatchObject({ maxQueuedMessages: 1, maxQueuedBytes: 1024, maxWaitMs: 1 });
    const problems = problemsOf({ SWITCHYARD_INGEST_MAX_QUEUED_MESSAGES: '0', SWITCHYARD_INGEST_MAX_QUEUED_BYTES: '1023', SWITCHYARD_INGEST_MAX_WAIT_MS: '0' });
    expect(problems).toMatch(/SWITCHYARD_INGEST_MAX_QUEUED_MESSAGES/);
    expect(problems).toMatch(/SWITCHYARD_INGEST_MAX_QUEUED_BYTES/);
    expect(problems).toMatch(/SWITCHYARD_INGEST_MAX_WAIT_MS/);
  });

  test('the largest values are taken; above them the variable is named', () => {
    expect(loadConfig({ SWITCHYARD_INGEST_MAX_QUEUED_MESSAGES: '10000000', SWITCHYARD_INGEST_MAX_WAIT_MS: '600000' }).ingest)
      .toMatchObject({ maxQueuedMessages: 10_000_000, maxWaitMs: 600_000 });
    expect(problemsOf({ SWITCHYARD_INGEST_MAX_QUEUED_MESSAGES: '10000001' })).toMatch(/SWITCHYARD_INGEST_MAX_QUEUED_MESSAGES/);
    expect(problemsOf({ SWITCHYARD_INGEST_MAX_WAIT_MS: '600001' })).toMatch(/SWITCHYARD_INGEST_MAX_WAIT_MS/);
  });
});
