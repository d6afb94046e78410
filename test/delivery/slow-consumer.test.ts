// A consumer that stops reading its stream is disconnected with a reason of its own, and it never
// holds up anybody else's deliveries.
import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { registerClient, type TestClient } from '../helpers/factories.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { openEventStream } from '../helpers/sse.ts';

let database: TestDatabase;
let service: TestService;
let publisher: TestClient;
let stuck: TestClient;
let healthy: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url, { SWITCHYARD_SSE_WRITE_TIMEOUT_MS: '1000', SWITCHYARD_RATE_LIMIT_PER_SECOND: '0' });
  publisher = await registerClient(service.admin, 'publisher');
  stuck = await registerClient(service.admin, 'stuck', ['topic:firehose']);
  healthy = await registerClient(service.admin, 'healthy', ['topic:firehose']);
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

test('a stream that is not read is closed as a slow consumer while another stream gets everything', async () => {
  const { port } = new URL(service.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.write(`GET /v1/inbox/stream?prefetch=1000 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${stuck.token}\r\n\r\n`);
  socket.pause(); // never read: the server's writes back up
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);

  const reader = await openEventStream(`${service.url}/v1/inbox/stream?prefetch=1000`, { token: healthy.token });
  const payload = 'x'.repeat(64 * 1024);
  const total = 150; // about 10 MB each, far more than the socket buffers hold
  for (let i = 0; i < total; i += 10) {
    const messages = Array.from({ length: 10 }, (_, j) => ({ to: 'topic:firehose', payload: { i: i + j, payload } }));
    expect((await publisher.api.post('/v1/messages/batch', { messages })).status).toBe(202);
  }
  let received = 0;
  while (received < total && (await reader.next(10_000))) received += 1;
  expect(received).toBe(total);

  // The stuck one: the server gives up on it after its write timeout and ends the connection; the
  // client notices once it reads again (the end waits behind the data it never read).
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text = (text + chunk.toString('latin1')).slice(-100_000)));
  socket.resume();
  await closed;
  expect(text.length).toBeGreaterThan(0);
  reader.close();
});
