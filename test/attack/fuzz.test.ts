// Property-based fuzzing of every write endpoint with generated invalid and hostile bodies,
// headers, path parameters and query strings (fuzz-requests.ts). Every answer must be a 4xx
// problem+json with a stable code, and the database must stay exactly as it was.
//
// A failure prints fast-check's seed and path; replay it with FUZZ_SEED=<seed> (and
// FUZZ_PATH=<path>), or run longer with FUZZ_RUNS=<runs per endpoint>.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ERROR_CODES } from '../../src/http/problem.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { registerClient, type TestClient } from '../helpers/factories.ts';
import { countRows } from '../helpers/problems.ts';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../helpers/service.ts';
import { edgeValuePublish, fuzzTargets, type FuzzLimits, type FuzzRequest } from './fuzz-requests.ts';

const RUNS_PER_ENDPOINT = Number(process.env.FUZZ_RUNS ?? 250);
const SEED = process.env.FUZZ_SEED === undefined ? Date.now() ^ (Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED);
const LIMITS: FuzzLimits = { batchMessages: 5, payloadBytes: 1024, payloadDepth: 8, headers: 4, listenTo: 5 };

let database: TestDatabase;
let service: TestService;
let fuzzer: TestClient;
let bystanders: TestClient[];

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_RATE_LIMIT_PER_SECOND: '0', // thousands of requests from one client, on purpose
    SWITCHYARD_MAX_BODY_BYTES: '8192',
    SWITCHYARD_MAX_BATCH_MESSAGES: String(LIMITS.batchMessages),
    SWITCHYARD_MAX_PAYLOAD_BYTES: String(LIMITS.payloadBytes),
    SWITCHYARD_MAX_PAYLOAD_DEPTH: String(LIMITS.payloadDepth),
    SWITCHYARD_MAX_HEADERS: String(LIMITS.headers),
    SWITCHYARD_MAX_LISTEN_TO: String(LIMITS.listenTo),
  });
  expect((await service.admin.put('/v1/admin/topics/closed/policy', { publish: [], subscribe: [] })).status).toBe(200);
  expect((await service.admin.put('/v1/admin/topics/shaped/schema', { type: 'object' })).status).toBe(200);
  fuzzer = await registerClient(service.admin, 'fuzzer', ['topic:fuzz']);
  bystanders = await Promise.all(Array.from({ length: 4 }, (_, i) => registerClient(service.admin, `bystander${i}`)));
  process.stderr.write(`fuzz seed ${SEED}, ${RUNS_PER_ENDPOINT} runs per endpoint\n`);
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

async function send(request: FuzzRequest) {
  const response = await fetch(service.url + request.path, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, contentType: response.headers.get('content-type'), body: body as { code?: unknown; status?: unknown } };
}

describe('every write endpoint refuses what is broken, and writes nothing', () => {
  test.each(Object.keys(fuzzTargets()))('%s', async (name) => {
    const arbitrary = fuzzTargets()[name]!({ limits: LIMITS, clientToken: fuzzer.token, adminToken: TEST_ADMIN_TOKEN });
    const baseline = await countRows(database.db);
    await fc.assert(
      fc.asyncProperty(arbitrary, async (request) => {
        const reply = await send(request);
        const what = `${request.mutation}: ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`;
        expect(reply.status, what).toBeGreaterThanOrEqual(400);
        expect(reply.status, what).toBeLessThan(500);
        expect(reply.contentType, what).toBe('application/problem+json');
        expect(Object.keys(ERROR_CODES), what).toContain(reply.body.code);
        expect(reply.body.status, what).toBe(reply.status);
        expect(await countRows(database.db), what).toEqual(baseline);
      }),
      {
        numRuns: RUNS_PER_ENDPOINT,
        seed: SEED,
        ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
        endOnFailure: true, // report the first failure at once: shrinking over HTTP is slow
      },
    );
  });
});

describe("values at the edge of what PostgreSQL parses fail at most their own publish", () => {
  // Each run sends one such publish together with publishes of other clients, so they share a
  // group commit: whatever the router does with the odd value (202 or a 4xx naming it), every
  // other client's publish is committed.
  test('deliver_at, text and numbers beside concurrent publishes of other clients', async () => {
    await fc.assert(
      fc.asyncProperty(edgeValuePublish, async ({ body, mutation }) => {
        const headers = { authorization: `Bearer ${fuzzer.token}`, 'content-type': 'application/json' };
        const [odd, ...others] = await Promise.all([
          send({ method: 'POST', path: '/v1/messages', headers, body, mutation }),
          ...bystanders.map((client, i) => client.api.post('/v1/messages', { to: 'topic:bystanders', payload: i })),
        ]);
        const what = `${mutation}: ${odd!.status} ${JSON.stringify(odd!.body).slice(0, 300)}`;
        expect(others.map((reply) => reply.status), what).toEqual(others.map(() => 202));
        expect(odd!.status, what).toBeLessThan(500);
        if (odd!.status !== 202) {
          expect(odd!.contentType, what).toBe('application/problem+json');
          expect(odd!.status, what).toBe(400);
        }
      }),
      { numRuns: RUNS_PER_ENDPOINT, seed: SEED, endOnFailure: true },
    );
  });
});
