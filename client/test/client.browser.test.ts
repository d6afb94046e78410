// The client in a real browser: headless Chromium (Debian's, driven by playwright-core; nothing is
// downloaded) loads the built client (client/dist, built here) from a page on another origin,
// consumes over WebSocket and over SSE, acks what it receives, and publishes. Without a chromium
// the test is skipped and says so. The build goes to a folder of its own: other test files build
// client/dist at the same time.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../../test/helpers/factories.ts';
import { startTestService, type TestService } from '../../test/helpers/service.ts';

const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];
const hasChromium = existsSync(CHROMIUM);
const SKIP_REASON = `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set SWITCHYARD_CHROMIUM`;
if (!hasChromium) console.warn(`client/test/client.browser.test.ts skipped: ${SKIP_REASON}`);

const CLIENT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PAGE = `<!doctype html><meta charset="utf-8"><title>client</title>
<script type="module">
  import { SwitchyardClient } from '/client/index.js';
  // Consumes until it has \`count\` messages, acking each (the handler returns), then closes (flushing acks).
  window.receive = async (url, token, transport, count) => {
    const client = new SwitchyardClient({ url, token });
    const states = [];
    client.onState((s) => states.push(s.state + ':' + s.transport));
    const ids = [];
    let done;
    const enough = new Promise((resolve) => (done = resolve));
    const consumer = client.consume((m) => { ids.push(m.id); if (ids.length >= count) done(); }, { transport, fallback: false, prefetch: 5 });
    await enough;
    const used = consumer.transport;
    await client.close();
    return { ids, used, states };
  };
  window.publish = async (url, token, to) => (await new SwitchyardClient({ url, token }).publish({ to, payload: 'from the browser' })).id;
  window.ready = true;
</script>`;

const BUILT = mkdtempSync(join(tmpdir(), 'switchyard-client-'));
let database: TestDatabase;
let service: TestService;
let pages: Server;
let origin: string;
let browser: Browser;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  execFileSync(process.execPath, [join(CLIENT_ROOT, 'scripts', 'build.ts'), '--out', BUILT], { stdio: 'ignore' });
  // The page and the built client, from an origin of their own (the service allows it for CORS).
  pages = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    const file = normalize(join(BUILT, path.replace(/^\/client\//, '')));
    if (!path.startsWith('/client/') || !file.startsWith(BUILT) || !existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  database = await createTestDatabase();
  service = await startTestService(database.url, { SWITCHYARD_CORS_ORIGINS: origin, SWITCHYARD_RATE_LIMIT_PER_SECOND: '0' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(origin);
  await page.waitForFunction(() => (globalThis as { ready?: boolean }).ready === true);
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (pages ? pages.close(resolve) : resolve(undefined)));
  await service?.stop();
  await database?.drop();
  rmSync(BUILT, { recursive: true, force: true });
});

async function queued(client: TestClient): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where client_id = ${client.id}`.execute(database.db);
  return rows[0]!.n;
}

describe.each(['ws', 'sse'])('in Chromium over %s', (transport) => {
  test.skipIf(!hasChromium)(`the page receives and acks what is published${hasChromium ? '' : ` (skipped: ${SKIP_REASON})`}`, async () => {
    const me = await registerClient(service.admin, `browser-${transport}`);
    const sender = await registerClient(service.admin, `sender-${transport}`);
    const received = page.evaluate(([url, token, t]) => (globalThis as any).receive(url, token, t, 3), [service.url, me.token, transport]);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await publish(sender, { to: `user:${me.name}`, payload: { i } }));
    const result = await received as { ids: string[]; used: string; states: string[] };
    expect(result.used).toBe(transport);
    expect(result.ids.sort()).toEqual(ids.sort());
    expect(result.states).toContain(`open:${transport}`);
    expect(await eventually(async () => ((await queued(me)) === 0 ? true : undefined), 5_000, 'acked')).toBe(true);
    // And publishing from the page, cross-origin, with its automatic Idempotency-Key.
    const id = await page.evaluate(([url, token, to]) => (globalThis as any).publish(url, token, to), [service.url, sender.token, `user:${me.name}`]);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(problems).toEqual([]);
  });
});
