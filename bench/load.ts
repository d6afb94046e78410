// Load generators, each run in its own process by bench/run.ts: `node bench/load.ts <kind> <json>`.
// The last stdout line is the JSON result; lines starting with "progress " are passed along.
import autocannon from 'autocannon';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { findKnee } from './lib/knee.ts';
import { summarizeLatencies } from './lib/stats.ts';

const [kind, rawArgs] = process.argv.slice(2);
const args = JSON.parse(rawArgs ?? '{}');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const auth = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

/** HTTP requests as fast as `connections` allow, for `durationSeconds` (autocannon). */
async function http() {
  const result = await autocannon({
    url: args.url + args.path,
    method: args.method ?? 'POST',
    headers: auth(args.token),
    body: args.body,
    connections: args.connections,
    duration: args.durationSeconds,
  });
  return {
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    durationSeconds: result.duration,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  };
}

/** Competing consumers: receive up to `max`, ack them, repeat, until the queue is empty or time is up. */
async function receiveAck() {
  const deadline = Date.now() + args.durationSeconds * 1000;
  let acked = 0;
  let errors = 0;
  const started = performance.now();
  let finished = started;
  const consumer = async () => {
    let empty = 0;
    while (Date.now() < deadline && empty < 3) {
      const reply = await fetch(`${args.url}/v1/inbox?max=${args.max}&visibility=60`, { headers: auth(args.token) });
      const body = (await reply.json()) as { messages?: { receipt: string }[] };
      const messages = body.messages ?? [];
      if (!reply.ok) errors += 1;
      if (messages.length === 0) {
        empty += 1;
        continue;
      }
      empty = 0;
      const ack = await fetch(`${args.url}/v1/inbox/ack`, {
        method: 'POST', headers: auth(args.token), body: JSON.stringify({ receipts: messages.map((m) => m.receipt) }),
      });
      const result = (await ack.json()) as { acked?: number };
      acked += result.acked ?? 0;
      finished = performance.now();
    }
  };
  await Promise.all(Array.from({ length: args.consumers }, consumer));
  return { acked, errors, seconds: (finished - started) / 1000 };
}

interface StreamedMessage { id: string; payload: { t: number; step?: number } }

/** An auto-acking stream of the subscriber's messages, over SSE or WebSocket: calls onMessage for each; resolves to its closer once up. */
async function openStream(transport: 'sse' | 'ws', token: string, onMessage: (message: StreamedMessage) => void): Promise<() => Promise<void>> {
  if (transport === 'ws') {
    const socket = new WebSocket(`${args.url.replace(/^http/, 'ws')}/v1/inbox/ws`, ['switchyard.v1', `bearer.${token}`]);
    socket.addEventListener('message', (event) => {
      const frame = JSON.parse(String(event.data)) as { type: string; message: StreamedMessage };
      if (frame.type === 'message') onMessage(frame.message);
    });
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve, { once: true });
      socket.addEventListener('error', reject, { once: true });
    });
    socket.send(JSON.stringify({ type: 'hello', ack: 'auto' }));
    return async () => socket.close();
  }
  return readSse(`${args.url}/v1/inbox/stream?ack=auto`, token, (event, data) => {
    if (event === 'message') onMessage(JSON.parse(data) as StreamedMessage);
  });
}

/**
 * Reads one SSE stream with node:http, the way a lean server-side consumer would: calls onEvent
 * with each event's type and data (data lines joined by newlines); resolves to its closer once the
 * first bytes (the retry line) have arrived. fetch's web streams cost this process about as much
 * CPU per event as the server spends sending it, on the same two cores.
 */
function readSse(url: string, token: string, onEvent: (event: string, data: string) => void): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: auth(token), agent: false }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        return reject(new Error(`stream: ${response.statusCode}`));
      }
      response.setEncoding('utf8');
      const closed = new Promise<void>((done) => response.once('close', done));
      let buffer = '';
      let event = '';
      let data: string[] = [];
      let up = false;
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n')) >= 0) {
          const line = buffer.charCodeAt(end - 1) === 13 ? buffer.slice(0, end - 1) : buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (line === '') {
            if (data.length > 0) onEvent(event || 'message', data.join('\n'));
            event = '';
            data = [];
          } else if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
          else if (line.startsWith('event:')) event = line.slice(line[6] === ' ' ? 7 : 6);
        }
        if (!up) {
          up = true;
          resolve(() => {
            request.destroy();
            return closed;
          });
        }
      });
      response.once('error', () => undefined); // destroyed at the end
      response.once('close', () => {
        if (!up) reject(new Error('stream: closed before its first event'));
      });
    });
    request.once('error', reject);
    request.end();
  });
}

/**
 * Keep-alive connections the steady-rate publisher may use at once: as many publishes as a router
 * works on at once by default (SWITCHYARD_INGEST_MAX_IN_FLIGHT), so the publisher never holds back
 * a request the router would take. A publish is answered once committed, and near the knee that
 * takes about 10 ms: 50 connections then carried at most about 4,500/s, and the rest waited in this
 * process, counted as the path's latency (at 4,000/s, p50 340 and 508 ms with 50 connections, 25
 * and 29 ms with 128, alternated).
 */
const PUBLISH_CONNECTIONS = 128;

/** One POST with node:http over a keep-alive agent; resolves to the status once the answer is read. */
function post(url: URL, agent: HttpAgent, token: string, body: string, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', agent, headers: { ...auth(token), 'content-length': String(Buffer.byteLength(body)) }, signal }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    });
    request.once('error', reject);
    request.end(body);
  });
}

/**
 * Posts `{ to, payload }` at a steady rate from `start` until `end` (performance.now() times) over
 * the keep-alive agent; `payloadOf` is given each message's send time. Resolves once every post has
 * been answered: how many were sent and how many failed.
 */
async function publishAtRate(agent: HttpAgent, rate: number, start: number, end: number, payloadOf: (t: number) => object) {
  const publishUrl = new URL(`${args.url}/v1/messages`);
  const intervalMs = 1000 / rate;
  let sent = 0;
  let failed = 0;
  const inFlight = new Set<Promise<void>>();
  for (let next = start; next < end; next += intervalMs) {
    const wait = next - performance.now();
    if (wait > 1) await sleep(wait);
    const t = performance.now();
    const p: Promise<void> = post(publishUrl, agent, args.publisherToken, JSON.stringify({ to: args.to, payload: payloadOf(t) }))
      .then((status) => {
        if (status !== 202) failed += 1;
      }, () => void (failed += 1))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    sent += 1;
  }
  await Promise.all(inFlight);
  return { sent, failed };
}

/** Waits until `received()` reaches `expected`, for at most 5 s (what is still missing then counts as lost). */
async function awaitReceipts(received: () => number, expected: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (received() < expected && Date.now() < deadline) await sleep(20);
}

/**
 * Publishes at a steady rate to a topic one stream (SSE or WebSocket) listens to; latency = publish
 * sent to message received. With `trace`, also each measured message's id with its send and
 * receipt times on the wall clock (ms since the epoch, to the microsecond), which the scenario
 * joins to the database's own timestamps (bench/scenarios.ts, streamTrace).
 */
async function streamLatency() {
  const start = performance.now() + 500; // the stream is up by then
  const measureFrom = start + args.warmupSeconds * 1000;
  const end = start + (args.warmupSeconds + args.durationSeconds) * 1000;
  const latencies: number[] = [];
  const trace: [id: string, sentMs: number, receivedMs: number][] = [];
  let received = 0;
  const close = await openStream(args.transport ?? 'sse', args.subscriberToken, (message) => {
    received += 1;
    if (message.payload.t < measureFrom) return;
    const now = performance.now();
    latencies.push(now - message.payload.t);
    if (args.trace) trace.push([message.id, performance.timeOrigin + message.payload.t, performance.timeOrigin + now]);
  });
  const agent = new HttpAgent({ keepAlive: true, maxSockets: PUBLISH_CONNECTIONS });
  const { sent, failed } = await publishAtRate(agent, args.rate, start, end, (t) => ({ t }));
  agent.destroy();
  await awaitReceipts(() => received, sent);
  await close();
  return { sent, failed, received, latencyMs: summarizeLatencies(latencies), ...(args.trace ? { trace } : {}) };
}

/**
 * The live path's knee (bench/lib/knee.ts) in this one process: one stream and one publisher's
 * connections for the whole ramp, as pg-boss's ramp runs on one pg-boss (bench/baselines.ts). Each
 * step publishes at its rate for warmupSeconds + durationSeconds, measures what was sent after its
 * warm-up, and waits (up to 5 s) for its messages before the next step starts. A message carries
 * its step, so one that arrives late counts in its own step. Each step is printed as progress.
 */
async function streamKnee() {
  const steps: { measureFrom: number; received: number; latencies: number[] }[] = [];
  const close = await openStream(args.transport ?? 'sse', args.subscriberToken, (message) => {
    const step = steps[message.payload.step ?? -1];
    if (!step) return;
    step.received += 1;
    if (message.payload.t >= step.measureFrom) step.latencies.push(performance.now() - message.payload.t);
  });
  const agent = new HttpAgent({ keepAlive: true, maxSockets: PUBLISH_CONNECTIONS });
  try {
    return await findKnee(args.rates as number[], async (rate) => {
      const start = performance.now();
      const step = { measureFrom: start + args.warmupSeconds * 1000, received: 0, latencies: [] as number[] };
      const index = steps.push(step) - 1;
      const { sent, failed } = await publishAtRate(agent, rate, start, step.measureFrom + args.durationSeconds * 1000, (t) => ({ t, step: index }));
      await awaitReceipts(() => step.received, sent);
      const { p50, p99 } = summarizeLatencies(step.latencies);
      return { rate, p50, p99, lost: sent - step.received + failed };
    }, (step) => process.stdout.write(`progress ${JSON.stringify(step)}\n`));
  } finally {
    agent.destroy();
    await close();
  }
}

/**
 * Drains `expected` messages through one SSE stream, auto-acked or leased (`prefetch` unacked at
 * most, acked by the client: one ack request at a time, carrying up to 100 receipts read since the
 * last one, the most one request may carry). Resolves when all are received (and acked).
 */
async function streamDrain() {
  const deadline = Date.now() + args.durationSeconds * 1000;
  const started = performance.now();
  let received = 0;
  let acked = 0;
  let finished = started;
  let unacked: string[] = [];
  let acking: Promise<void> | undefined;
  const ack = async () => {
    while (unacked.length > 0) {
      const receipts = unacked.slice(0, 100);
      unacked = unacked.slice(100);
      const reply = await fetch(`${args.url}/v1/inbox/ack`, { method: 'POST', headers: auth(args.token), body: JSON.stringify({ receipts }) });
      acked += ((await reply.json()) as { acked?: number }).acked ?? 0;
    }
    acking = undefined;
    finished = performance.now();
  };
  const query = args.mode === 'auto' ? 'ack=auto' : `prefetch=${args.prefetch}`;
  const close = await readSse(`${args.url}/v1/inbox/stream?${query}`, args.token, (event, data) => {
    if (event !== 'message') return;
    received += 1;
    if (args.mode === 'auto') {
      finished = performance.now();
      return;
    }
    unacked.push((JSON.parse(data) as { receipt: string }).receipt);
    acking ??= ack();
  });
  const done = () => (args.mode === 'auto' ? received : acked) >= args.expected;
  while (!done() && Date.now() < deadline) await sleep(10);
  await close();
  return { received, acked, seconds: (finished - started) / 1000 };
}

/**
 * Broadcast: opens `count` SSE streams (tokens `${prefix}${i}`), then publishes `messages` messages
 * to `to`, one every `intervalMs`; for each message, the time from its publish to the last
 * stream's receipt. Counts every (stream, message) missing or received twice.
 */
async function broadcast() {
  const received = Array.from({ length: args.count }, () => new Uint8Array(args.messages));
  const lastReceipt = new Float64Array(args.messages);
  const sentAt = new Float64Array(args.messages);
  const closers: (() => Promise<void>)[] = [];
  let failed = 0;
  for (let i = 0; i < args.count; i += args.concurrency) {
    await Promise.all(Array.from({ length: Math.min(args.concurrency, args.count - i) }, async (_, j) => {
      const stream = i + j;
      try {
        const close = await readSse(`${args.url}/v1/inbox/stream?ack=auto`, `${args.prefix}${stream}`, (event, data) => {
          if (event !== 'message') return;
          const n = (JSON.parse(data) as { payload: { n: number } }).payload.n;
          received[stream]![n]! += 1;
          lastReceipt[n] = performance.now();
        });
        closers.push(close);
      } catch {
        failed += 1;
      }
    }));
    if ((i / args.concurrency) % 10 === 0) process.stdout.write(`progress ${JSON.stringify({ open: closers.length, failed })}\n`);
  }
  process.stdout.write(`progress ${JSON.stringify({ ready: true, open: closers.length, failed })}\n`);
  await sleep(1_000);
  for (let n = 0; n < args.messages; n++) {
    sentAt[n] = performance.now();
    const reply = await fetch(`${args.publishUrl}/v1/messages`, {
      method: 'POST', headers: auth(args.publisherToken), body: JSON.stringify({ to: args.to, payload: { n } }),
    });
    if (reply.status !== 202) failed += 1;
    await reply.arrayBuffer();
    await sleep(Math.max(0, sentAt[n]! + args.intervalMs - performance.now()));
  }
  const complete = () => received.every((counts, stream) => stream >= closers.length || counts.every((c) => c > 0));
  const deadline = Date.now() + 10_000;
  while (!complete() && Date.now() < deadline) await sleep(50);
  await Promise.all(closers.map((close) => close()));
  let missing = 0;
  let duplicates = 0;
  for (const counts of received.slice(0, closers.length)) {
    for (const c of counts) {
      if (c === 0) missing += 1;
      if (c > 1) duplicates += c - 1;
    }
  }
  const latencies = Array.from(sentAt, (t, n) => lastReceipt[n]! - t).filter((ms) => ms > 0);
  return { open: closers.length, failed, missing, duplicates, lastReceiptMs: summarizeLatencies(latencies) };
}

/** Opens `count` SSE streams (tokens `${prefix}${i}`), reports when all are open, holds them, closes. */
async function idleSse() {
  const controllers: AbortController[] = [];
  let open = 0;
  let failed = 0;
  for (let i = 0; i < args.count; i += args.concurrency) {
    await Promise.all(Array.from({ length: Math.min(args.concurrency, args.count - i) }, async (_, j) => {
      const controller = new AbortController();
      try {
        const response = await fetch(`${args.url}/v1/inbox/stream`, { headers: auth(`${args.prefix}${i + j}`), signal: controller.signal });
        if (response.status !== 200) throw new Error(String(response.status));
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        await reader.read(); // the retry: line: the stream is up
        void (async () => {
          try {
            while (!(await reader.read()).done);
          } catch {
            // closed at the end
          }
        })();
        controllers.push(controller);
        open += 1;
      } catch {
        failed += 1;
      }
    }));
    if ((i / args.concurrency) % 10 === 0) process.stdout.write(`progress ${JSON.stringify({ open, failed })}\n`);
  }
  process.stdout.write(`progress ${JSON.stringify({ ready: true, open, failed })}\n`);
  await sleep(args.holdSeconds * 1000);
  for (const controller of controllers) controller.abort();
  return { open, failed };
}

/**
 * Open loop: POSTs at a fixed `rate` for `durationSeconds` over at most `connections` keep-alive
 * connections, whatever the answers take, as independent clients would; a request not answered
 * `timeoutMs` after it was due is abandoned (its connection closed) and counted as a timeout.
 */
async function openLoop() {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: args.connections });
  const url = new URL(args.url + args.path);
  const counts = { sent: 0, accepted: 0, refused: 0, timeouts: 0, failed: 0 };
  const latencies: number[] = [];
  const send = (due: number) => {
    const signal = AbortSignal.timeout(Math.max(1, Math.round(args.timeoutMs - (performance.now() - due))));
    return post(url, agent, args.token, args.body, signal).then((status) => {
      if (status === 202) {
        counts.accepted += 1;
        latencies.push(performance.now() - due);
      } else if (status === 503 || status === 429) counts.refused += 1;
      else counts.failed += 1;
    }, () => {
      if (signal.aborted) counts.timeouts += 1;
      else counts.failed += 1;
    });
  };
  const intervalMs = 1000 / args.rate;
  const started = performance.now();
  const end = started + args.durationSeconds * 1000;
  const inFlight: Promise<void>[] = [];
  for (let due = started; due < end; due += intervalMs) {
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(send(due));
    counts.sent += 1;
  }
  const offeredSeconds = (performance.now() - started) / 1000;
  await Promise.all(inFlight);
  agent.destroy();
  return { ...counts, offeredSeconds, latencyMs: summarizeLatencies(latencies) };
}


/** Opens `count` WebSockets (tokens `${prefix}${i}`, each with a hello), reports when all are open, holds them, closes. */
async function idleWs() {
  const sockets: WebSocket[] = [];
  let open = 0;
  let failed = 0;
  const url = `${args.url.replace(/^http/, 'ws')}/v1/inbox/ws`;
  for (let i = 0; i < args.count; i += args.concurrency) {
    await Promise.all(Array.from({ length: Math.min(args.concurrency, args.count - i) }, async (_, j) => {
      try {
        const socket = new WebSocket(url, ['switchyard.v1', `bearer.${args.prefix}${i + j}`]);
        await new Promise((resolve, reject) => {
          socket.addEventListener('open', resolve, { once: true });
          socket.addEventListener('error', reject, { once: true });
        });
        socket.send(JSON.stringify({ type: 'hello', id: 'h' }));
        await new Promise((resolve) => socket.addEventListener('message', resolve, { once: true })); // started
        sockets.push(socket);
        open += 1;
      } catch {
        failed += 1;
      }
    }));
    if ((i / args.concurrency) % 10 === 0) process.stdout.write(`progress ${JSON.stringify({ open, failed })}\n`);
  }
  process.stdout.write(`progress ${JSON.stringify({ ready: true, open, failed })}\n`);
  await sleep(args.holdSeconds * 1000);
  for (const socket of sockets) socket.close();
  return { open, failed };
}

/** Competing consumers with @switchyard/client over WebSocket: handlers that return at once, acks batched by the client. */
async function receiveAckClient() {
  const { SwitchyardClient } = await import('../client/src/index.ts');
  const client = new SwitchyardClient({ url: args.url, token: args.token });
  let acked = 0;
  const started = performance.now();
  let finished = started;
  const deadline = Date.now() + args.durationSeconds * 1000;
  const consumers = Array.from({ length: args.consumers }, () => client.consume(() => {
    acked += 1; // counted when the handler returns; the ack follows in the next batch
    finished = performance.now();
  }, { transport: 'ws', fallback: false, prefetch: args.prefetch, concurrency: args.prefetch, visibility: 60, extendLeases: false }));
  while (Date.now() < deadline && (acked < args.expected)) await sleep(20);
  await client.close(); // flushes the last acks
  void consumers;
  return { acked, seconds: (finished - started) / 1000 };
}


const kinds: Record<string, () => Promise<unknown>> = {
  http, 'receive-ack': receiveAck, 'stream-latency': streamLatency, 'stream-knee': streamKnee, 'idle-sse': idleSse, 'idle-ws': idleWs, 'receive-ack-client': receiveAckClient,
  'open-loop': openLoop, broadcast, 'stream-drain': streamDrain,
};
const run = kinds[kind ?? ''];
if (!run) {
  process.stderr.write(`unknown load ${kind}\n`);
  process.exit(2);
}
run().then(
  (result) => {
    // A pipe takes a large line in several writes: exit once it has all of it.
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
  },
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
