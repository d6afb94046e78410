// Values JavaScript accepts and PostgreSQL refuses: dates in year 0000, UTC offsets of 16 hours,
// U+0000 in text, numbers beyond a double. Each is a 400 naming the field wherever it is sent,
// never a 500, and never the failure of other clients' publishes that share its group commit.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { countRows, expectProblem } from '../helpers/problems.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let database: TestDatabase;
let service: TestService;
let mallory: TestClient;
let others: TestClient[];

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, { SWITCHYARD_RATE_LIMIT_PER_SECOND: '0' });
  mallory = await registerClient(service.admin, 'mallory', ['topic:shared']);
  others = await Promise.all(Array.from({ length: 5 }, (_, i) => registerClient(service.admin, `innocent${i}`, ['topic:shared'])));
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

const REFUSED_TIMES = ['0000-01-01T00:00:00Z', '2026-01-01T00:00:00+16:00', '2026-01-01T00:00:00-23:59'];

describe('publishing', () => {
  test.each(REFUSED_TIMES)("deliver_at %s is a 400 naming it, and the concurrent publishes of other clients are all committed", async (time) => {
    const innocent = others.flatMap((client) => Array.from({ length: 3 }, (_, i) => client.api.post('/v1/messages', { to: 'topic:shared', payload: i })));
    const hostile = mallory.api.post('/v1/messages', { to: 'topic:shared', payload: 'x', deliver_at: time });
    const [bad, ...good] = await Promise.all([hostile, ...innocent]);
    expectProblem(bad!, 400, 'ValidationFailed', 'deliver_at');
    expect(good.map((reply) => reply.status)).toEqual(good.map(() => 202));
  });

  test('an offset of 15:59 is the largest PostgreSQL takes, and is accepted', async () => {
    await publish(mallory, { to: 'topic:shared', payload: 'x', deliver_at: new Date(Date.now() + 15 * 3_600_000 + 59 * 60_000).toISOString().replace('Z', '+15:59') });
  });

  test('a number beyond a double (1e400) is a 400 naming where it is, not delivered as null', async () => {
    // Routing the publishes above adds deliveries: let it finish, so the counts compare this request only.
    await eventually(async () => ((await sql<{ idle: boolean }>`
      select bool_and(rows_behind = 0) as idle from switchyard.stage_lag(1) where stage = 'routing'`.execute(database.db)).rows[0]!.idle || undefined), 10_000, 'routing to catch up');
    const before = await countRows(database.db);
    const reply = await mallory.api.raw('POST', '/v1/messages', '{"to":"topic:shared","payload":{"n":[1,-1e400]}}', { 'content-type': 'application/json' });
    expectProblem(reply, 400, 'ValidationFailed', 'payload.n.1');
    expect(await countRows(database.db)).toEqual(before);
  });

  test('a huge but finite number is delivered as it was sent', async () => {
    const id = await publish(mallory, { to: 'topic:shared', payload: { n: 1.7976931348623157e308 } });
    const received = await eventually(async () => {
      const reply = await others[0]!.api.get('/v1/inbox?wait=2&max=100');
      return (reply.body.messages as { id: string; payload: unknown }[]).find((m) => m.id === id);
    }, 10_000, 'the message');
    expect(received.payload).toEqual({ n: 1.7976931348623157e308 });
  });
});

describe('text and times other endpoints hand to SQL', () => {
  test('U+0000 in a nack reason is a 400 naming reason', async () => {
    const id = await publish(mallory, { to: 'user:innocent1', payload: 'nack me' });
    const message = await eventually(async () => {
      const reply = await others[1]!.api.get('/v1/inbox?wait=2&max=100');
      return (reply.body.messages as { id: string; receipt: string }[]).find((m) => m.id === id);
    }, 10_000, 'the message');
    expectProblem(await others[1]!.api.post('/v1/inbox/nack', { receipts: [message.receipt], reason: 'bad\u0000' }), 400, 'ValidationFailed', 'reason');
    expect((await others[1]!.api.post('/v1/inbox/nack', { receipts: [message.receipt], reason: 'fine' })).status).toBe(200);
  });

  test('U+0000 in the dead-letter error filter is a 400, when listing and when redriving, for clients and the admin', async () => {
    expectProblem(await mallory.api.get('/v1/inbox/dead-letters?error=%00'), 400, 'ValidationFailed', 'error');
    expectProblem(await mallory.api.post('/v1/inbox/dead-letters/redrive', { error: 'x\u0000' }), 400, 'ValidationFailed', 'error');
    expectProblem(await service.admin.get('/v1/admin/dead-letters?error=%00'), 400, 'ValidationFailed', 'error');
  });

  test('U+0000 in the analytics address is a 400', async () => {
    expectProblem(await service.admin.get('/v1/admin/analytics?address=user%3Aa%00'), 400, 'ValidationFailed', 'address');
  });

  test.each([
    ['a time in year 0000', 'before=0000-01-01T00:00:00Z'],
    ['an offset of 16:00', `since=${encodeURIComponent('2026-01-01T00:00:00+16:00')}`],
    ['a cursor with a month 13', `before=${encodeURIComponent('2026-13-01T00:00:00.000000Z~1~01890a5d-ac96-774b-bcce-b302099a8057')}`],
    ['a cursor with a client id beyond bigint', `before=${encodeURIComponent('2026-01-01T00:00:00.000000Z~9999999999999999999~01890a5d-ac96-774b-bcce-b302099a8057')}`],
  ])('%s in a dead-letter query is a 400', async (_, query) => {
    const field = query.slice(0, query.indexOf('='));
    expectProblem(await mallory.api.get(`/v1/inbox/dead-letters?${query}`), 400, 'ValidationFailed', field);
    expectProblem(await service.admin.get(`/v1/admin/dead-letters?${query}`), 400, 'ValidationFailed', field);
  });

  test('a well-formed page cursor is still accepted', async () => {
    const reply = await mallory.api.get(`/v1/inbox/dead-letters?before=${encodeURIComponent('2026-01-01T00:00:00.000000Z~1~01890a5d-ac96-774b-bcce-b302099a8057')}`);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  });
});

describe('a value the router lets through and PostgreSQL refuses', () => {
  test('fails only its own publish, with a 400 ValueRefused; the publishes sharing its flush are committed', async () => {
    // A stand-in for whatever validation may still miss: a rule only the database knows.
    await sql`alter table switchyard.message add constraint test_refused_type check (type is distinct from 'refused-by-the-database')`.execute(database.db);
    try {
      const before = await countRows(database.db);
      const innocent = others.flatMap((client) => Array.from({ length: 4 }, (_, i) => client.api.post('/v1/messages', { to: 'topic:shared', payload: i, type: 'fine' })));
      const hostile = mallory.api.post('/v1/messages/batch', { messages: [{ to: 'topic:shared', payload: 1 }, { to: 'topic:shared', payload: 2, type: 'refused-by-the-database' }] });
      const [bad, ...good] = await Promise.all([hostile, ...innocent]);
      expectProblem(bad!, 400, 'ValueRefused');
      expect(bad!.body.detail).toContain('test_refused_type');
      expect(good.map((reply) => reply.status)).toEqual(good.map(() => 202));
      expect((await countRows(database.db)).messages).toBe(before.messages + good.length); // none of the bad batch
    } finally {
      await sql`alter table switchyard.message drop constraint test_refused_type`.execute(database.db);
    }
  });
});
