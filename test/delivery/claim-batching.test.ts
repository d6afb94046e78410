// Receives asked for at the same moment claim in one statement (inbox/claim-batcher.ts): what a
// broadcast needs when it wakes thousands of streams. Each request still gets exactly its own
// client's rows, with the same rules as a receive alone.
import { Kysely, PostgresDialect } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Database } from '../../src/db/schema.ts';
import { ClaimBatcher } from '../../src/inbox/claim-batcher.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createQueueClient, newMessage, publishAndRoute } from '../helpers/queue.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

test('claims asked for in the same turn go out as one statement, and each client gets exactly its own messages', async () => {
  const clients = await Promise.all(Array.from({ length: 40 }, (_, i) => createQueueClient(database.db, `batch-${i}`)));
  const ids = await publishAndRoute(database.db, Array.from({ length: 40 }, (_, i) => newMessage(`topic:batch-${i}`)));
  const statements: string[] = [];
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: database.pool }),
    log: (event) => void (event.level === 'query' && statements.push(event.query.sql)),
  });
  const batcher = new ClaimBatcher(db);
  const answers = await Promise.all(clients.map((clientId, i) => batcher.claim({
    clientId, max: 10, visibilitySeconds: 30, maxReceives: 10, lease: { owner: `stream-${i}`, seqBefore: 0, prefetch: 100 },
  })));
  expect(statements.filter((s) => s.includes('claim_deliveries'))).toHaveLength(1);
  answers.forEach((rows, i) => {
    expect(rows.map((r) => [r.outcome, r.id, r.lease_seq])).toEqual([['delivered', ids[i], 1]]);
  });
});

test('the same client twice in one statement never gets the same delivery twice', async () => {
  const clientId = await createQueueClient(database.db, 'twice');
  const ids = await publishAndRoute(database.db, Array.from({ length: 5 }, () => newMessage('topic:twice')));
  const batcher = new ClaimBatcher(database.db);
  const [first, second] = await Promise.all([
    batcher.claim({ clientId, max: 3, visibilitySeconds: 30, maxReceives: 10 }),
    batcher.claim({ clientId, max: 3, visibilitySeconds: 30, maxReceives: 10 }),
  ]);
  const handedOut = [...first!, ...second!].map((r) => r.id);
  expect(first).toHaveLength(3);
  expect(second).toHaveLength(2);
  expect(new Set(handedOut)).toEqual(new Set(ids));
});

test('a claim asked for alone goes out alone, with the same answer as before', async () => {
  const clientId = await createQueueClient(database.db, 'alone');
  const [id] = await publishAndRoute(database.db, [newMessage('topic:alone')]);
  const rows = await new ClaimBatcher(database.db).claim({ clientId, max: 10, visibilitySeconds: 30, maxReceives: 10, autoAck: true });
  expect(rows.map((r) => [r.outcome, r.id, r.receive_count])).toEqual([['delivered', id, 1]]);
});
