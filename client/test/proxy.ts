// A TCP proxy in front of the service, for tests that need the network to misbehave: drop every
// connection at once (the server "dropped the socket"), swallow what the server sends (bytes in
// flight are lost), or refuse WebSocket upgrades or event streams as a hostile proxy would.
import net from 'node:net';

export interface TestProxy {
  url: string;
  /** Destroys every open connection. */
  dropAll(): void;
  /** While true, data from the service is thrown away. */
  blackhole: boolean;
  /** Refuse requests whose head matches (403, then close). */
  refuse: RegExp | undefined;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<TestProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  const proxy: TestProxy = {
    url: '',
    blackhole: false,
    refuse: undefined,
    dropAll: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise((resolve) => {
      proxy.dropAll();
      server.close(() => resolve());
    }),
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (chunk: Buffer) => {
      const head = chunk.toString('latin1', 0, 2048);
      // Keep-alive connections carry many requests: look at every chunk that starts one.
      if (/^[A-Z]+ \S+ HTTP\/1\.1\r\n/.test(head) && proxy.refuse?.test(head)) {
        client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!proxy.blackhole) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return proxy;
}
