// The router's flush: one INSERT for many publishes; it counts only the rows it wrote (a repeated
// dedup_id is answered with the first message's id and is not a new message), fences each
// sender's reads, and wakes the stages and the requests waiting for the committed correlation ids.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { flushMessages, type IngestFlushOptions } from '../src/messages/ingest-flush.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { newMessage } from './helpers/queue.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

function recordingFlush() {
  const seen = { written: [] as number[], signals: [] as [string, string[] | undefined][], fenced: [] as string[] };
  const options: IngestFlushOptions = {
    db: database.db, dedupWindowSeconds: 300,
    reads: { noteWrite: (sender) => void seen.fenced.push(sender) },
    onFlushed: (seconds, written) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      seen.written.push(written);
    },
    signal: (channel, keys) => void seen.signals.push([channel, keys]),
  };
  return { seen, options };
}

test('a flush counts the rows it wrote, not those that repeated a dedup_id, and wakes the stages and the waiting replies', async () => {
  const { seen, options } = recordingFlush();
  const first = newMessage('topic:t', { sender: 'user:ann', dedup_id: 'order-1' });
  const repeat = newMessage('topic:t', { sender: 'user:ann', dedup_id: 'order-1' });
  const reply = newMessage('user:bob', { sender: 'user:cy', correlation_id: 'question-7' });
  expect(await flushMessages([first, repeat, reply], options)).toEqual([first.id, first.id, reply.id]);
  expect(seen.written).toEqual([2]);
  expect(seen.fenced).toEqual(['user:ann', 'user:ann', 'user:cy']);
  // The stages' wake-up names the lanes the flush wrote (queue/lane-hints.ts), as the log has them.
  const lanes = await sql<{ lane: string }>`select distinct lane::text as lane from switchyard.message where id = any (${[first.id, reply.id]}::uuid[])`.execute(database.db);
  expect(seen.signals.map(([channel, keys]) => [channel, keys && [...keys].sort()])).toEqual([['log', lanes.rows.map((row) => row.lane).sort()], ['reply', ['question-7']]]);

  // A later flush that only repeats: nothing written, nobody waits for a reply.
  const again = newMessage('topic:t', { sender: 'user:ann', dedup_id: 'order-1' });
  expect(await flushMessages([again], options)).toEqual([first.id]);
  expect(seen.written).toEqual([2, 0]);
  // It still names its lane: a hint may point at a lane with nothing new, never miss one.
  const lane = await sql<{ lane: string }>`select lane::text as lane from switchyard.message where id = ${first.id}::uuid`.execute(database.db);
  expect(seen.signals.slice(2)).toEqual([['log', [lane.rows[0]!.lane]]]);
});
