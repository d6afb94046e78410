// A Server-Sent Events reader for tests, parsing the stream the way a browser's EventSource does.

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  /** The next event, or undefined if none arrives within timeoutMs. */
  next(timeoutMs?: number): Promise<SseEvent | undefined>;
  comments: string[];
  retry: number | undefined;
  lastEventId: string | undefined;
  /** True once the server ended the stream. */
  ended: boolean;
  body: string;
  close(): void;
}

export async function openEventStream(url: string, options: { token?: string; lastEventId?: string; headers?: Record<string, string> } = {}): Promise<SseConnection> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: {
      accept: 'text/event-stream',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}),
      ...options.headers,
    },
    signal: abort.signal,
  });
  const events: SseEvent[] = [];
  const waiting: (() => void)[] = [];
  const connection: SseConnection = {
    status: response.status,
    headers: response.headers,
    comments: [],
    retry: undefined,
    lastEventId: undefined,
    ended: false,
    body: '',
    close: () => abort.abort(),
    next: async (timeoutMs = 5_000) => {
      const deadline = Date.now() + timeoutMs;
      while (events.length === 0 && !connection.ended && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadline - Date.now());
          waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return events.shift();
    },
  };
  if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
    connection.body = await response.text();
    connection.ended = true;
    return connection;
  }
  const notify = () => waiting.splice(0).forEach((wake) => wake());
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    let data: string[] = [];
    let event = 'message';
    let id: string | undefined;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
          if (line === '') {
            if (data.length > 0) {
              events.push({ id, event, data: data.join('\n') });
              notify();
            }
            data = [];
            event = 'message';
            continue;
          }
          if (line.startsWith(':')) {
            connection.comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') data.push(value);
          else if (field === 'event') event = value;
          else if (field === 'id') connection.lastEventId = id = value;
          else if (field === 'retry') connection.retry = Number(value);
        }
      }
    } catch {
      // aborted by close()
    } finally {
      connection.ended = true;
      notify();
    }
  })();
  return connection;
}
