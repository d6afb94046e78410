// One set of behaviours, run against both streaming transports: SSE (GET /v1/inbox/stream) and
// WebSocket (GET /v1/inbox/ws). Both sit on the same stream core (InboxService.stream), and this
// file is what keeps them from drifting: prefetch, event ids, resume, leases, auto-ack, revocation.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { openEventStream } from '../helpers/sse.ts';
import { openWebSocket, wsUrl } from '../helpers/ws.ts';

let database: TestDatabase;
let service: TestService;
let sender: TestClient;
let counter = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, { SWITCHYARD_RATE_LIMIT_PER_SECOND: '0' });
  sender = await registerClient(service.admin, 'sender');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

interface Delivered {
  eventId: string;
  message: { id: string; receipt: string; payload: any; receive_count: number };
}

interface StreamOptions {
  prefetch?: number;
  visibility?: number;
  ack?: 'auto' | 'manual';
  last_event_id?: string;
}

interface TestStream {
  /** The next message, or undefined if none comes within timeoutMs. */
  next(timeoutMs?: number): Promise<Delivered | undefined>;
  ack(receipts: string[]): Promise<{ acked: number; not_acked: string[] }>;
  /** The code of the closed event/frame the server ended with, or undefined if none within timeoutMs. */
  endedWith(timeoutMs?: number): Promise<string | undefined>;
  close(): void;
}

type Transport = (client: TestClient, o: StreamOptions) => Promise<TestStream>;

const transports: Record<'sse' | 'websocket', Transport> = {
  sse: async (client, o) => {
    const query = new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)]));
    const stream = await openEventStream(`${service.url}/v1/inbox/stream?${query}`, { token: client.token });
    expect(stream.status).toBe(200);
    let closed: string | undefined;
    const next = async (timeoutMs = 5_000) => {
      for (;;) {
        const event = await stream.next(timeoutMs);
        if (!event) return undefined;
        if (event.event === 'closed') closed = JSON.parse(event.data).code;
        if (event.event === 'message') return { eventId: event.id!, message: JSON.parse(event.data) };
      }
    };
    return {
      next,
      ack: async (receipts) => (await client.api.post('/v1/inbox/ack', { receipts })).body,
      endedWith: async (timeoutMs = 5_000) => {
        await next(timeoutMs);
        return closed;
      },
      close: () => stream.close(),
    };
  },
  websocket: async (client, o) => {
    const socket = await openWebSocket(wsUrl(service.url), { token: client.token });
    const hello = await socket.request({ type: 'hello', ...o });
    expect(hello.result).toEqual({ stream: 'started' });
    let closed: string | undefined;
    const next = async (timeoutMs = 5_000) => {
      for (;;) {
        const frame = await socket.next(timeoutMs);
        if (!frame) return undefined;
        if (frame.type === 'closed') closed = frame.code;
        if (frame.type === 'message') return { eventId: frame.event_id, message: frame.message };
      }
    };
    return {
      next,
      ack: async (receipts) => (await socket.request({ type: 'ack', receipts })).result,
      endedWith: async (timeoutMs = 5_000) => {
        await next(timeoutMs);
        return closed;
      },
      close: () => socket.close(),
    };
  },
};

async function listener(): Promise<TestClient> {
  return registerClient(service.admin, `l${counter++}`, []);
}

async function sendTo(client: TestClient, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await publish(sender, { to: `user:${client.name}`, payload: { i } }));
  return ids;
}

describe.each(Object.entries(transports))('%s', (_name, open) => {
  test('delivers each message once with an <owner>:<seq> event id, and an ack removes it for good', async () => {
    const client = await listener();
    const ids = await sendTo(client, 3);
    const stream = await open(client, {});
    const got: Delivered[] = [];
    for (let i = 0; i < 3; i++) got.push((await stream.next())!);
    expect(got.map((d) => d.message.id)).toEqual(ids);
    const [owner] = got[0]!.eventId.split(':');
    expect(got.map((d) => d.eventId)).toEqual([`${owner}:1`, `${owner}:2`, `${owner}:3`]);
    expect(await stream.ack(got.map((d) => d.message.receipt))).toEqual({ acked: 3, not_acked: [] });
    stream.close();
    const again = await open(client, { visibility: 1 });
    expect(await again.next(2_500)).toBeUndefined();
    again.close();
  });

  test('never has more than prefetch messages unacked; an ack lets the next through', async () => {
    const client = await listener();
    const ids = await sendTo(client, 5);
    const stream = await open(client, { prefetch: 2 });
    const first = [(await stream.next())!, (await stream.next())!];
    expect(first.map((d) => d.message.id)).toEqual(ids.slice(0, 2));
    expect(await stream.next(1_000)).toBeUndefined();
    await stream.ack([first[0]!.message.receipt]);
    expect((await stream.next())!.message.id).toBe(ids[2]);
    expect(await stream.next(1_000)).toBeUndefined();
    stream.close();
  });

  test('resuming with the last event id seen gets what the old stream sent after it again, at once', async () => {
    const client = await listener();
    const ids = await sendTo(client, 3);
    const stream = await open(client, { visibility: 600 });
    const got = [(await stream.next())!, (await stream.next())!, (await stream.next())!];
    stream.close();
    // Leases of 600 s: only the resume can bring messages 2 and 3 back this soon.
    const resumed = await open(client, { visibility: 600, last_event_id: got[0]!.eventId });
    const again = [(await resumed.next())!, (await resumed.next())!];
    expect(again.map((d) => d.message.id).sort()).toEqual(ids.slice(1).sort());
    expect(await resumed.next(1_000)).toBeUndefined(); // the first was seen: its lease holds
    resumed.close();
  });

  test('an unacked message comes again only after its lease expires, with the same id', async () => {
    const client = await listener();
    const [id] = await sendTo(client, 1);
    const stream = await open(client, { visibility: 1 });
    const first = (await stream.next())!;
    const started = Date.now();
    const second = (await stream.next(5_000))!;
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(second.message.id).toBe(id);
    expect(second.message.receive_count).toBe(first.message.receive_count + 1);
    expect(await stream.ack([first.message.receipt])).toEqual({ acked: 0, not_acked: [first.message.receipt] });
    stream.close();
  });

  test('auto-ack deletes messages as they are sent', async () => {
    const client = await listener();
    const ids = await sendTo(client, 3);
    const stream = await open(client, { ack: 'auto', visibility: 1, prefetch: 1 });
    const got = [(await stream.next())!, (await stream.next())!, (await stream.next())!];
    expect(got.map((d) => d.message.id)).toEqual(ids);
    expect(await stream.next(2_000)).toBeUndefined();
    stream.close();
  });

  test('revoking the token ends the stream with TokenInvalid', async () => {
    const client = await listener();
    const stream = await open(client, {});
    expect((await service.admin.post(`/v1/admin/clients/${client.id}/revoke`)).status).toBe(200);
    expect(await stream.endedWith(5_000)).toBe('TokenInvalid');
    stream.close();
  });
});
