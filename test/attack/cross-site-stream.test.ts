// A hostile page can put a victim's cookie or a URL in front of the event stream, but it must not
// be able to open the stream with the cookie, nor delete messages with ack=auto: the cookie works
// only from this service's pages or an allowed CORS origin (Sec-Fetch-Site / Origin, as the
// dashboard checks), and ack=auto wants the token in the Authorization header.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { openEventStream } from '../helpers/sse.ts';

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.net';

let database: TestDatabase;
let service: TestService;
let victim: TestClient;
let sender: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, { SWITCHYARD_CORS_ORIGINS: APP });
  victim = await registerClient(service.admin, 'victim');
  sender = await registerClient(service.admin, 'sender');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

const cookie = () => ({ cookie: `switchyard_token=${victim.token}` });

async function status(path: string, headers: Record<string, string>) {
  const stream = await openEventStream(`${service.url}${path}`, { headers });
  stream.close();
  return { status: stream.status, code: stream.body ? (JSON.parse(stream.body) as { code?: string }).code : undefined };
}

describe('the token cookie', () => {
  test.each([
    ['a cross-site navigation', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }],
    ['a same-site page on another origin', { 'sec-fetch-site': 'same-site', origin: 'https://other.example.com' }],
    ['a page of an origin that is not allowed', { 'sec-fetch-site': 'cross-site', origin: EVIL }],
  ])('from %s is 403 CrossSiteCookieRefused', async (_, headers) => {
    expect(await status('/v1/inbox/stream', { ...cookie(), ...headers })).toEqual({ status: 403, code: 'CrossSiteCookieRefused' });
  });

  test.each([
    ["this service's own page", { 'sec-fetch-site': 'same-origin' }],
    ['an allowed CORS origin', { 'sec-fetch-site': 'cross-site', origin: APP }],
    ['a client that is no browser (no Sec-Fetch-Site, no Origin)', {}],
  ])('from %s opens the stream', async (_, headers) => {
    expect(await status('/v1/inbox/stream', { ...cookie(), ...headers })).toEqual({ status: 200, code: undefined });
  });
});

describe('ack=auto', () => {
  test.each([
    ['the access_token parameter', `/v1/inbox/stream?ack=auto&prefetch=1000&access_token=TOKEN`, {}],
    ['the cookie, even from its own page', '/v1/inbox/stream?ack=auto&prefetch=1000', { 'sec-fetch-site': 'same-origin' }],
  ])('with the token in %s is 400 AutoAckNeedsAuthorizationHeader and deletes nothing', async (_, path, headers) => {
    const id = await publish(sender, { to: 'user:victim', payload: 'keep me' });
    await eventually(async () => {
      const rows = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where message_id = ${id}::uuid`.execute(database.db);
      return rows.rows[0]!.n === 1 ? true : undefined;
    }, 10_000, 'the delivery');
    const withToken = path.replace('TOKEN', victim.token);
    const got = await status(withToken, path.includes('TOKEN') ? headers : { ...cookie(), ...headers });
    expect(got).toEqual({ status: 400, code: 'AutoAckNeedsAuthorizationHeader' });
    const rows = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where message_id = ${id}::uuid`.execute(database.db);
    expect(rows.rows[0]!.n).toBe(1);
  });

  test('with the token in the Authorization header streams and deletes as it sends', async () => {
    const stream = await openEventStream(`${service.url}/v1/inbox/stream?ack=auto`, { token: victim.token });
    try {
      expect(stream.status).toBe(200);
      const id = await publish(sender, { to: 'user:victim', payload: 'fire and forget' });
      let event;
      do event = await stream.next(); while (event && JSON.parse(event.data).id !== id);
      expect(event).toBeDefined();
      await eventually(async () => {
        const rows = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where message_id = ${id}::uuid`.execute(database.db);
        return rows.rows[0]!.n === 0 ? true : undefined;
      }, 10_000, 'the auto-acked delivery gone');
    } finally {
      stream.close();
    }
  });
});
