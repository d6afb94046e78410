// A WebSocket reader for tests on Node's own global WebSocket (undici, the browser API): frames
// are parsed JSON, queued until a test takes them.

export interface WsFrame {
  type: string;
  [key: string]: any;
}

export interface WsConnection {
  socket: WebSocket;
  /** The next frame, or undefined if none arrives within timeoutMs. */
  next(timeoutMs?: number): Promise<WsFrame | undefined>;
  /** The next frame of this type (others are skipped), or undefined. */
  nextOf(type: string, timeoutMs?: number): Promise<WsFrame | undefined>;
  send(frame: unknown): void;
  /** Sends a request frame with a fresh id and returns its result frame. */
  request(frame: Record<string, unknown>, timeoutMs?: number): Promise<WsFrame>;
  /** Resolves with the close event's code and reason once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

let requests = 0;

export function wsUrl(httpUrl: string, path = '/v1/inbox/ws'): string {
  return httpUrl.replace(/^http/, 'ws') + path;
}

/** Opens a socket with the bearer.<token> subprotocol beside switchyard.v1 (as a browser would). */
export async function openWebSocket(url: string, options: { token?: string; protocols?: string[] } = {}): Promise<WsConnection> {
  const protocols = options.protocols ?? ['switchyard.v1', ...(options.token ? [`bearer.${options.token}`] : [])];
  const socket = new WebSocket(url, protocols);
  const frames: WsFrame[] = [];
  const waiting: (() => void)[] = [];
  const wake = () => waiting.splice(0).forEach((fn) => fn());
  socket.addEventListener('message', (event) => {
    frames.push(JSON.parse(String(event.data)) as WsFrame);
    wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.addEventListener('close', (event) => {
    resolve({ code: event.code, reason: event.reason });
    wake();
  }));
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error('the WebSocket did not open')), { once: true });
  });
  const next = async (timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (frames.length === 0 && socket.readyState !== WebSocket.CLOSED && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return frames.shift();
  };
  const connection: WsConnection = {
    socket,
    next,
    nextOf: async (type, timeoutMs = 5_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const frame = await next(Math.max(0, deadline - Date.now()));
        if (!frame || frame.type === type) return frame;
      }
    },
    send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    request: async (frame, timeoutMs = 5_000) => {
      const id = `r${++requests}`;
      socket.send(JSON.stringify({ ...frame, id }));
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = frames.findIndex((f) => (f.type === 'result' || f.type === 'error') && f.id === id);
        if (index >= 0) return frames.splice(index, 1)[0]!;
        if (Date.now() > deadline || socket.readyState === WebSocket.CLOSED) throw new Error(`no result for ${JSON.stringify(frame)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    closed,
    close: () => socket.close(),
  };
  return connection;
}
