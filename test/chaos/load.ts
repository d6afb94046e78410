// Load with exact accounting for the fault suite: publishers record every 202 (a publish that got
// no answer is retried with its Idempotency-Key until it gets one, so "accepted" is exact), and
// consumers record every receipt, by long poll or SSE, and ack it. Every answer that is not a
// success is counted by status ("network" when no answer came), as clients would see it.

export interface Ledger {
  accepted: Set<string>;
  /** When each 202 came (performance.now()), in order: the longest gap is the outage clients saw. */
  acceptedAt: number[];
  /** Per consumer: message id -> the receive counts it was received with, in order. */
  received: Map<string, Map<string, number[]>>;
  /** Client-visible failures by status ("network": no answer), publishes and receives alike. */
  errors: Map<string, number>;
}

export function newLedger(): Ledger {
  return { accepted: new Set(), acceptedAt: [], received: new Map(), errors: new Map() };
}

export function countError(ledger: Ledger, status: string): void {
  ledger.errors.set(status, (ledger.errors.get(status) ?? 0) + 1);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function pick(urls: string[], turn: number): string | undefined {
  return urls.length === 0 ? undefined : urls[turn % urls.length];
}

export interface PublisherOptions {
  token: string;
  routers: () => string[];
  to: string;
  /** Messages per second for this publisher. */
  rate: number;
  signal: AbortSignal;
  ledger: Ledger;
  /** Offsets the router choice, so that publishers spread over the routers. */
  offset?: number;
}

/** Publishes until aborted, one message at a time at about `rate` per second. */
export async function publishLoop(o: PublisherOptions): Promise<number> {
  let sent = 0;
  let turn = o.offset ?? 0;
  while (!o.signal.aborted) {
    const started = performance.now();
    const key = `chaos-${crypto.randomUUID()}`;
    const body = JSON.stringify({ to: o.to, payload: { n: sent, key } });
    // Until this message has its 202: a publish whose answer was lost may have committed, and the
    // Idempotency-Key makes the retry answer with the first result instead of publishing again.
    for (let attempt = 0; ; attempt++) {
      const url = pick(o.routers(), turn++);
      if (url === undefined) {
        await pause(100);
        continue;
      }
      const reply = await fetch(`${url}/v1/messages`, {
        method: 'POST', body, signal: AbortSignal.timeout(15_000),
        headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json', 'idempotency-key': key },
      }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => undefined) as { id?: string } | undefined }), () => undefined);
      if (reply?.status === 202 && reply.body?.id) {
        o.ledger.accepted.add(reply.body.id);
        o.ledger.acceptedAt.push(performance.now());
        break;
      }
      countError(o.ledger, reply === undefined ? 'network' : String(reply.status));
      await pause(Math.min(1_000, 50 * 2 ** attempt));
    }
    sent += 1;
    const wait = 1000 / o.rate - (performance.now() - started);
    if (wait > 0) await pause(wait);
  }
  return sent;
}

export interface ConsumerOptions {
  name: string;
  token: string;
  pushes: () => string[];
  transport: 'poll' | 'sse';
  signal: AbortSignal;
  ledger: Ledger;
  offset?: number;
  /** Lease of a receive: a message whose consumer died comes back after this long. */
  visibilitySeconds?: number;
}

interface Received {
  id: string;
  receipt: string;
  receive_count: number;
}

/** Receives and acks until aborted, moving to another push process when one goes away. */
export async function consumeLoop(o: ConsumerOptions): Promise<void> {
  const seen = new Map<string, number[]>();
  o.ledger.received.set(o.name, seen);
  const record = (m: Received) => seen.set(m.id, [...(seen.get(m.id) ?? []), m.receive_count]);
  const headers = { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' };
  const visibility = o.visibilitySeconds ?? 5;
  let turn = o.offset ?? 0;
  let lastEventId: string | undefined;
  while (!o.signal.aborted) {
    const url = pick(o.pushes(), turn++);
    if (url === undefined) {
      await pause(100);
      continue;
    }
    const ack = async (receipts: string[]) => {
      if (receipts.length === 0) return;
      const reply = await fetch(`${url}/v1/inbox/ack`, { method: 'POST', headers, body: JSON.stringify({ receipts }), signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      // A lost ack shows up as a redelivery after the lease: counted there, not lost.
      if (!reply || reply.status !== 200) countError(o.ledger, reply ? String(reply.status) : 'network');
    };
    try {
      if (o.transport === 'poll') {
        const reply = await fetch(`${url}/v1/inbox?wait=1&max=100&visibility=${visibility}`, { headers, signal: AbortSignal.timeout(10_000) });
        if (reply.status !== 200) {
          countError(o.ledger, String(reply.status));
          await pause(100);
          continue;
        }
        const { messages } = await reply.json() as { messages: Received[] };
        messages.forEach(record);
        await ack(messages.map((m) => m.receipt));
      } else {
        // Acks batched as a real consumer would (per 50, or every 20 ms): one by one, a backlog of
        // tens of thousands takes minutes, and a full prefetch window could outlive its lease.
        const pending: string[] = [];
        let timer: ReturnType<typeof setTimeout> | undefined;
        const flush = async () => {
          clearTimeout(timer);
          timer = undefined;
          if (pending.length > 0) await ack(pending.splice(0));
        };
        try {
          await streamOnce(`${url}/v1/inbox/stream?visibility=${visibility}&prefetch=100`, headers, lastEventId, o.signal, async (id, message) => {
            lastEventId = id;
            record(message);
            pending.push(message.receipt);
            if (pending.length >= 50) await flush();
            else timer ??= setTimeout(() => void flush(), 20);
          });
        } finally {
          await flush();
        }
      }
    } catch {
      if (!o.signal.aborted) {
        countError(o.ledger, 'network');
        await pause(100);
      }
    }
  }
}

/** Reads one SSE connection until it ends, calling onMessage for each message event. */
async function streamOnce(url: string, headers: Record<string, string>, lastEventId: string | undefined, signal: AbortSignal,
  onMessage: (id: string, message: Received) => Promise<void>): Promise<void> {
  const response = await fetch(url, { headers: { ...headers, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) }, signal });
  if (response.status !== 200 || !response.body) throw new Error(`stream answered ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const field = (name: string) => block.split('\n').find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
      if (field('event') === 'message') await onMessage(field('id') ?? '', JSON.parse(field('data')!) as Received);
    }
  }
}

export interface Accounting {
  accepted: number;
  /** Accepted messages some consumer never received. */
  lost: number;
  /** Receipts of a message that a consumer already had, with receive_count 1 again: a delivery row created twice. */
  duplicates: number;
  /** Receipts with receive_count above 1: a lease ran out (its consumer died or was slow). */
  redeliveries: number;
  /** Redeliveries per consumer. */
  redeliveredTo: Record<string, number>;
  errors: Record<string, number>;
}

/** The longest stretch without any 202, in seconds: how long publishing was out for clients. */
export function longestOutageSeconds(ledger: Ledger): number {
  const at = [...ledger.acceptedAt].sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < at.length; i++) longest = Math.max(longest, at[i]! - at[i - 1]!);
  return longest / 1000;
}

export function account(ledger: Ledger): Accounting {
  let lost = 0;
  let duplicates = 0;
  let redeliveries = 0;
  const redeliveredTo: Record<string, number> = {};
  for (const [name, seen] of ledger.received) {
    for (const id of ledger.accepted) if (!seen.has(id)) lost += 1;
    for (const counts of seen.values()) {
      duplicates += Math.max(0, counts.filter((count) => count === 1).length - 1);
      const again = counts.filter((count) => count > 1).length;
      redeliveries += again;
      redeliveredTo[name] = (redeliveredTo[name] ?? 0) + again;
    }
  }
  return { accepted: ledger.accepted.size, lost, duplicates, redeliveries, redeliveredTo, errors: Object.fromEntries(ledger.errors) };
}

/** Waits until every consumer has every accepted message (or the time is up). */
export async function drained(ledger: Ledger, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ([...ledger.received.values()].every((seen) => [...ledger.accepted].every((id) => seen.has(id)))) return true;
    await pause(200);
  }
  return false;
}
