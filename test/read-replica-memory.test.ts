// What the read replica remembers of recent writers, at its limits: the fence lasts RECENT_WRITE_MS
// after a write (moved on an injected clock), and at most WRITERS_MAX writers are remembered.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ReadReplica, RECENT_WRITE_MS, WRITERS_MAX } from '../src/db/read-replica.ts';
import { createLogger } from '../src/logger.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

describe('ReadReplica memory of writers', () => {
  test(`a writer's reads are fenced until ${RECENT_WRITE_MS} ms after its last write, and not after`, () => {
    let now = 1_000;
    const replica = new ReadReplica(database.db, database.db, createLogger('silent'), { now: () => now });
    expect(replica.fences('user:alice')).toBe(false);
    replica.noteWrite('user:alice');
    now += RECENT_WRITE_MS - 1;
    expect(replica.fences('user:alice')).toBe(true);
    expect(replica.fences('user:bob')).toBe(false);
    expect(replica.fences(undefined)).toBe(false);
    now += 1;
    expect(replica.fences('user:alice')).toBe(false);
    replica.noteWrite('user:alice'); // a new write starts a new fence
    expect(replica.fences('user:alice')).toBe(true);
  });

  test(`at most ${WRITERS_MAX} writers are remembered: the one that wrote longest ago is forgotten first`, () => {
    const replica = new ReadReplica(database.db, database.db, createLogger('silent'), { now: () => 0 });
    for (let i = 0; i < WRITERS_MAX; i++) replica.noteWrite(`user:u${i}`);
    replica.noteWrite('user:u0'); // writes again: now the most recent
    expect(replica.fences('user:u0')).toBe(true);
    expect(replica.fences('user:u1')).toBe(true);
    replica.noteWrite('user:new'); // one over the limit
    expect(replica.fences('user:new')).toBe(true);
    expect(replica.fences('user:u0')).toBe(true);
    expect(replica.fences('user:u1')).toBe(false); // the oldest writer
    expect(replica.fences('user:u2')).toBe(true);
  });
});
