// The ceiling for single publishes: a bare Hono app on @hono/node-server that answers 202 with no
// work, run in its own process (`node bench/bare-hono.ts`); it prints the URL it listens on.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/v1/messages', (c) => c.json({ id: '00000000-0000-0000-0000-000000000000' }, 202));
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stderr.write(`listening on http://127.0.0.1:${info.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
