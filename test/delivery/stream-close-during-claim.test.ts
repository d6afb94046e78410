// A stream whose connection closes while its claim is out must not keep what it claimed: nothing of
// it was sent, so the leases go back at once, uncounted. (A resume's own release wakes the stream it
// replaces when that stream has not yet seen its close; leased to the dead stream, the messages
// the resume asked for would wait out the visibility timeout.)
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DeliveryRecorder } from '../../src/analytics/delivery-recorder.ts';
import { InboxService, type StreamOutput } from '../../src/inbox/inbox.service.ts';
import { Waiters } from '../../src/queue/waiters.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createQueueClient, newMessage, publishAndRoute } from '../helpers/queue.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

test('messages claimed by a stream that closed meanwhile are not sent and are visible again at once, uncounted', async () => {
  const clientId = await createQueueClient(database.db, 'closing');
  const ids = await publishAndRoute(database.db, [newMessage('topic:closing'), newMessage('topic:closing')]);
  const closed = new AbortController();
  const start = new Date(Date.now() + 60_000); // after the messages' visible_at
  // The injected clock is read as the claim is asked for: closing there puts the close in flight
  // with the claim, as a socket's close event can be.
  const clock = () => {
    closed.abort();
    return start;
  };
  const woken: string[] = [];
  const inbox = new InboxService(database.db, new Waiters(), new DeliveryRecorder(), { maxReceives: 10, backoffBaseMs: 1_000, backoffCapMs: 60_000 },
    (id) => woken.push(id), undefined, clock);
  const sent: string[] = [];
  const out: StreamOutput = { send: async (_eventId, message) => void sent.push(message.id), heartbeat: async () => undefined };
  const end = await inbox.stream(clientId, { visibilitySeconds: 600, prefetch: 10, autoAck: false, heartbeatMs: 60_000, lastEventId: undefined }, out, closed.signal);

  expect(end).toBe('aborted');
  expect(sent).toEqual([]);
  const rows = await sql<{ message_id: string; receive_count: number; lease_owner: string | null; visible_now: boolean }>`
    select message_id, receive_count, lease_owner, visible_at <= ${start}::timestamptz as visible_now
    from switchyard.delivery where client_id = ${clientId} order by message_id`.execute(database.db);
  expect(rows.rows).toEqual([...ids].sort().map((id) => ({ message_id: id, receive_count: 0, lease_owner: null, visible_now: true })));
  expect(woken).toEqual([clientId]); // whoever waits for this client looks again
});
