// Every limit at its edge: at the limit passes, one over is refused with the limit's own code and
// writes nothing. The limits are set small here through their configuration variables.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { registerClient, type TestClient } from '../helpers/factories.ts';
import type { Reply } from '../helpers/http.ts';
import { countRows, expectProblem } from '../helpers/problems.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const BODY = 2048;
const BATCH = 3;
const PAYLOAD = 100;
const DEPTH = 4;
const HEADERS = 2;
const ADDRESS = 20;
const LISTEN_TO = 3;

let database: TestDatabase;
let service: TestService;
let alice: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_MAX_BODY_BYTES: String(BODY),
    SWITCHYARD_MAX_BATCH_MESSAGES: String(BATCH),
    SWITCHYARD_MAX_PAYLOAD_BYTES: String(PAYLOAD),
    SWITCHYARD_MAX_PAYLOAD_DEPTH: String(DEPTH),
    SWITCHYARD_MAX_HEADERS: String(HEADERS),
    SWITCHYARD_MAX_ADDRESS_LENGTH: String(ADDRESS),
    SWITCHYARD_MAX_LISTEN_TO: String(LISTEN_TO),
  });
  alice = await registerClient(service.admin, 'alice');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

/** The request at the limit succeeds; the one over it is refused with `code` and changes nothing. */
async function edge(atLimit: () => Promise<Reply>, overLimit: () => Promise<Reply>, status: number, code: string, path?: string) {
  const ok = await atLimit();
  expect(ok.status, JSON.stringify(ok.body)).toBeLessThan(300);
  const before = await countRows(database.db);
  expectProblem(await overLimit(), status, code, path);
  expect(await countRows(database.db)).toEqual(before);
}

/** Nested arrays `depth` deep around 1: depth(1) = 0, depth([1]) = 1. */
const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);
const topic = (length: number) => `topic:${'t'.repeat(length - 'topic:'.length)}`;
const padTo = (json: string, bytes: number) => json.replace(/}$/, `${' '.repeat(bytes - Buffer.byteLength(json))}}`);

describe('each limit at its edge', () => {
  test(`body: ${BODY} bytes pass, one more is 413 PayloadTooLarge (SWITCHYARD_MAX_BODY_BYTES)`, async () => {
    const json = JSON.stringify({ to: 'topic:news', payload: 1 });
    const send = (bytes: number) => alice.api.raw('POST', '/v1/messages', padTo(json, bytes), { 'content-type': 'application/json' });
    await edge(() => send(BODY), () => send(BODY + 1), 413, 'PayloadTooLarge');
  });

  test('a body over the limit without a Content-Length (chunked) is 413 too', async () => {
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(BODY / 4)));
        controller.close();
      },
    });
    const response = await fetch(`${service.url}/v1/messages`, {
      method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' }, body: chunks, duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { code: string }).code).toBe('PayloadTooLarge');
  });

  test(`batch: ${BATCH} messages pass, ${BATCH + 1} are 400 BatchTooLarge (SWITCHYARD_MAX_BATCH_MESSAGES)`, async () => {
    const batch = (n: number) => ({ messages: Array.from({ length: n }, (_, i) => ({ to: 'topic:news', payload: i })) });
    await edge(() => alice.api.post('/v1/messages/batch', batch(BATCH)), () => alice.api.post('/v1/messages/batch', batch(BATCH + 1)), 400, 'BatchTooLarge', 'messages');
  });

  test(`payload: ${PAYLOAD} bytes of compact JSON pass, one more is 413 MessagePayloadTooLarge (SWITCHYARD_MAX_PAYLOAD_BYTES)`, async () => {
    const text = (bytes: number) => 'x'.repeat(bytes - 2); // the quotes are bytes too
    await edge(
      () => alice.api.post('/v1/messages', { to: 'topic:news', payload: text(PAYLOAD) }),
      () => alice.api.post('/v1/messages', { to: 'topic:news', payload: text(PAYLOAD + 1) }),
      413, 'MessagePayloadTooLarge', 'payload',
    );
  });

  test('payload bytes are UTF-8 bytes, not characters', async () => {
    const euros = (n: number) => '€'.repeat(n); // 3 bytes each
    await edge(
      () => alice.api.post('/v1/messages', { to: 'topic:news', payload: euros((PAYLOAD - 2) / 3 | 0) }),
      () => alice.api.post('/v1/messages', { to: 'topic:news', payload: euros(((PAYLOAD - 2) / 3 | 0) + 1) }),
      413, 'MessagePayloadTooLarge', 'payload',
    );
  });

  test(`payload depth: ${DEPTH} levels pass, ${DEPTH + 1} are 400 PayloadTooDeep naming where (SWITCHYARD_MAX_PAYLOAD_DEPTH)`, async () => {
    await edge(
      () => alice.api.post('/v1/messages', { to: 'topic:news', payload: nested(DEPTH) }),
      () => alice.api.post('/v1/messages', { to: 'topic:news', payload: { a: nested(DEPTH) } }),
      400, 'PayloadTooDeep', 'payload.a.0.0.0',
    );
  });

  test(`headers: ${HEADERS} pass, ${HEADERS + 1} are 400 TooManyHeaders (SWITCHYARD_MAX_HEADERS)`, async () => {
    const headers = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`h${i}`, 'v']));
    await edge(
      () => alice.api.post('/v1/messages', { to: 'topic:news', payload: 1, headers: headers(HEADERS) }),
      () => alice.api.post('/v1/messages', { to: 'topic:news', payload: 1, headers: headers(HEADERS + 1) }),
      400, 'TooManyHeaders', 'headers',
    );
  });

  test(`addresses: ${ADDRESS} characters pass, ${ADDRESS + 1} are 400 AddressTooLong, wherever they are (SWITCHYARD_MAX_ADDRESS_LENGTH)`, async () => {
    await edge(
      () => alice.api.post('/v1/messages', { to: topic(ADDRESS), payload: 1 }),
      () => alice.api.post('/v1/messages', { to: topic(ADDRESS + 1), payload: 1 }),
      400, 'AddressTooLong', 'to',
    );
    await edge(
      () => alice.api.post('/v1/messages', { to: 'topic:news', reply_to: topic(ADDRESS), payload: 1 }),
      () => alice.api.post('/v1/messages', { to: 'topic:news', reply_to: topic(ADDRESS + 1), payload: 1 }),
      400, 'AddressTooLong', 'reply_to',
    );
    await edge(
      () => alice.api.put('/v1/clients/me/listen-to', { listen_to: [topic(ADDRESS)] }),
      () => alice.api.put('/v1/clients/me/listen-to', { listen_to: [topic(ADDRESS + 1)] }),
      400, 'AddressTooLong', 'listen_to.0',
    );
    await edge(
      () => alice.api.get(`/v1/history?conversation=${topic(ADDRESS)}`),
      () => alice.api.get(`/v1/history?conversation=${topic(ADDRESS + 1)}`),
      400, 'AddressTooLong', 'conversation',
    );
  });

  test(`listen-to: ${LISTEN_TO} entries pass, ${LISTEN_TO + 1} are 400 TooManyListenTo, at registration too (SWITCHYARD_MAX_LISTEN_TO)`, async () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `topic:t${i}`);
    await edge(
      () => alice.api.put('/v1/clients/me/listen-to', { listen_to: list(LISTEN_TO) }),
      () => alice.api.put('/v1/clients/me/listen-to', { listen_to: list(LISTEN_TO + 1) }),
      400, 'TooManyListenTo', 'listen_to',
    );
    await edge(
      () => service.admin.post('/v1/clients', { name: 'bob', listen_to: list(LISTEN_TO) }),
      () => service.admin.post('/v1/clients', { name: 'carol', listen_to: list(LISTEN_TO + 1) }),
      400, 'TooManyListenTo', 'listen_to',
    );
  });

  test('a broken limit wins over the field errors it would otherwise bring', async () => {
    const messages = Array.from({ length: BATCH + 2 }, () => ({ to: 'nowhere', payload: 1 }));
    const reply = await alice.api.post('/v1/messages/batch', { messages });
    expectProblem(reply, 400, 'BatchTooLarge', 'messages');
    expect(reply.body.errors).toHaveLength(1);
  });
});

describe('configuration of the limits', () => {
  test('each limit has a default', () => {
    expect(loadConfig({}).limits).toEqual({ batchMessages: 1000, payloadBytes: 262_144, payloadDepth: 32, headers: 32, addressLength: 134, listenTo: 100 });
  });

  test('a bad value names its variable; addresses cannot be allowed longer than the name rules make them', () => {
    const problems = (() => {
      try {
        loadConfig({ SWITCHYARD_MAX_ADDRESS_LENGTH: '500', SWITCHYARD_MAX_PAYLOAD_DEPTH: '0', SWITCHYARD_MAX_BATCH_MESSAGES: 'many' });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    })();
    expect(problems.join('\n')).toMatch(/SWITCHYARD_MAX_ADDRESS_LENGTH/);
    expect(problems.join('\n')).toMatch(/SWITCHYARD_MAX_PAYLOAD_DEPTH/);
    expect(problems.join('\n')).toMatch(/SWITCHYARD_MAX_BATCH_MESSAGES/);
  });
});
