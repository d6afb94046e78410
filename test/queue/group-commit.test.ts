// Group commit: one caller's bad value fails only that caller (against real PostgreSQL), and the
// queue in front of the flushes is bounded in items, bytes and waiting time.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isDataError } from '../../src/db/errors.ts';
import { insertMessages, type NewMessage } from '../../src/messages/messages.repository.ts';
import { GroupCommit, GroupCommitAborted, GroupCommitFull } from '../../src/queue/group-commit.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { newMessage } from '../helpers/queue.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

/** A flush that waits until released, so that tests decide when a slot frees up. */
function gatedFlush() {
  const flushed: number[][] = [];
  let release: () => void = () => undefined;
  let gate = new Promise<void>((resolve) => (release = resolve));
  return {
    flushed,
    flush: async (items: number[]) => {
      flushed.push(items);
      await gate;
      return items.map((item) => item * 10);
    },
    open: () => {
      release();
      gate = Promise.resolve();
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('a flush that fails on data', () => {
  test("fails only the caller whose value PostgreSQL refuses: the other callers' messages are committed", async () => {
    const commit = new GroupCommit<NewMessage, string>({
      maxBatch: 1000, maxConcurrent: 1, isolate: isDataError,
      flush: async (rows) => (await insertMessages(database.db, rows, 300)).ids,
    });
    const callers = Array.from({ length: 9 }, (_, i) => [newMessage('topic:isolated', { payload: i })]);
    // Year 0000 and a +16:00 offset: JavaScript parses both, PostgreSQL refuses both.
    callers.splice(3, 0, [newMessage('topic:isolated', { deliver_at: '0000-01-01T00:00:00Z' })]);
    callers.splice(7, 0, [newMessage('topic:isolated'), newMessage('topic:isolated', { deliver_at: '2026-01-01T00:00:00+16:00' })]);
    const results = await Promise.allSettled(callers.map((rows) => commit.submit(rows)));

    expect(results.map((r) => r.status)).toEqual(callers.map((_, i) => (i === 3 || i === 7 ? 'rejected' : 'fulfilled')));
    for (const i of [3, 7]) expect(isDataError((results[i] as PromiseRejectedResult).reason)).toBe(true);
    const written = await sql<{ id: string }>`select id from switchyard.message where to_address = 'topic:isolated'`.execute(database.db);
    const good = callers.filter((_, i) => i !== 3 && i !== 7).flat().map((m) => m.id);
    expect(written.rows.map((r) => r.id).sort()).toEqual(good.sort());
  });

  test('a missing partition is no fault of a caller: the flush fails whole, without retries', async () => {
    let flushes = 0;
    const commit = new GroupCommit<number, number>({
      maxBatch: 100, maxConcurrent: 1, isolate: isDataError,
      flush: async () => {
        flushes += 1;
        throw Object.assign(new Error('no partition of relation "message" found for row'), { code: '23514' });
      },
    });
    const results = await Promise.allSettled([commit.submit([1]), commit.submit([2]), commit.submit([3])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(flushes).toBe(1);
  });

  test('an error that is not about data fails the whole flush, without retries', async () => {
    let flushes = 0;
    const commit = new GroupCommit<number, number>({
      maxBatch: 100, maxConcurrent: 1, isolate: isDataError,
      flush: async () => {
        flushes += 1;
        throw Object.assign(new Error('connection lost'), { code: '08006' });
      },
    });
    const results = await Promise.allSettled([commit.submit([1]), commit.submit([2]), commit.submit([3])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(flushes).toBe(1);
  });
});

describe('admission control', () => {
  test('items waiting beyond maxQueuedItems are refused at once; exactly the limit is let in', async () => {
    const gated = gatedFlush();
    const commit = new GroupCommit<number, number>({ maxBatch: 100, maxConcurrent: 1, maxQueuedItems: 3, flush: gated.flush });
    const inFlight = commit.submit([1]);
    await settle(); // the first one is in the flush now, not waiting
    const waiting = [commit.submit([2, 3]), commit.submit([4])];
    expect(commit.queued).toBe(3);
    expect(commit.refusal(0)).toBeUndefined();
    expect(commit.refusal(1)).toBe('items');
    await expect(commit.submit([5])).rejects.toMatchObject({ name: 'GroupCommitFull', limit: 'items' });
    gated.open();
    expect(await inFlight).toEqual([10]);
    expect(await Promise.all(waiting)).toEqual([[20, 30], [40]]);
    expect(gated.flushed).toEqual([[1], [2, 3, 4]]); // the batch grew while the first was in flight
  });

  test('a caller with more than the limit alone is still let in when nothing waits', async () => {
    const gated = gatedFlush();
    gated.open();
    const commit = new GroupCommit<number, number>({ maxBatch: 100, maxConcurrent: 1, maxQueuedItems: 2, flush: gated.flush });
    expect(await commit.submit([1, 2, 3])).toEqual([10, 20, 30]);
  });

  test('bytes waiting beyond maxQueuedBytes are refused; exactly the limit is let in', async () => {
    const gated = gatedFlush();
    const commit = new GroupCommit<number, number>({
      maxBatch: 100, maxConcurrent: 1, maxQueuedBytes: 100, sizeOf: (item) => item, flush: gated.flush,
    });
    const inFlight = commit.submit([1]);
    await settle();
    const waiting = [commit.submit([60]), commit.submit([40])];
    expect(commit.queuedBytes).toBe(100);
    await expect(commit.submit([1])).rejects.toBeInstanceOf(GroupCommitFull);
    gated.open();
    await Promise.all([inFlight, ...waiting]);
    expect(commit.queuedBytes).toBe(0);
  });

  test('while the oldest waiting caller has waited longer than maxWaitMs, new callers are refused', async () => {
    const gated = gatedFlush();
    let now = 0;
    const commit = new GroupCommit<number, number>({ maxBatch: 100, maxConcurrent: 1, maxWaitMs: 500, now: () => now, flush: gated.flush });
    const inFlight = commit.submit([1]);
    await settle();
    const waiting = commit.submit([2]);
    now = 500;
    const atTheLimit = commit.submit([3]); // waited exactly maxWaitMs: still let in
    now = 501;
    await expect(commit.submit([4])).rejects.toMatchObject({ limit: 'wait' });
    expect(commit.oldestWaitMs).toBe(501);
    gated.open();
    expect(await Promise.all([inFlight, waiting, atTheLimit])).toEqual([[10], [20], [30]]);
    expect(commit.oldestWaitMs).toBe(0);
    expect(await commit.submit([5])).toEqual([50]); // drained: accepted again
  });

  test('a caller who gives up before its items join a flush leaves the queue and nothing of it is flushed', async () => {
    const gated = gatedFlush();
    const commit = new GroupCommit<number, number>({ maxBatch: 100, maxConcurrent: 1, flush: gated.flush });
    const inFlight = commit.submit([1]);
    await settle();
    const gaveUp = new AbortController();
    const abandoned = commit.submit([2], gaveUp.signal);
    const kept = commit.submit([3]);
    gaveUp.abort();
    await expect(abandoned).rejects.toBeInstanceOf(GroupCommitAborted);
    expect(commit.queued).toBe(1);
    gated.open();
    await Promise.all([inFlight, kept]);
    expect(gated.flushed).toEqual([[1], [3]]);
  });
});
