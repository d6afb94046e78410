// The dashboard in a real browser: headless Chromium (Debian's chromium package, driven by
// playwright-core; no browser is ever downloaded) logs in, watches the numbers move while the test
// publishes, and redrives a dead letter from the page; the client then receives it again. The
// page's last state is kept as test-results/dashboard.png. Without a chromium the test is skipped
// and says so (.ci/run installs one).
import { sql } from 'kysely';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from './helpers/factories.ts';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from './helpers/service.ts';

const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];
const SCREENSHOT = 'test-results/dashboard.png';
const hasChromium = existsSync(CHROMIUM);
const SKIP_REASON = `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set SWITCHYARD_CHROMIUM`;
if (!hasChromium) console.warn(`test/dashboard.browser.test.ts skipped: ${SKIP_REASON}`);

let database: TestDatabase;
let service: TestService;
let browser: Browser;
let page: Page;
const pageProblems: string[] = [];
let loggedIn = false;

beforeAll(async () => {
  if (!hasChromium) return;
  database = await createTestDatabase();
  service = await startTestService(database.url, {
    SWITCHYARD_ROLES: 'router,routing,persistence,analytics,push,upkeep', // upkeep counts the queues
  }, { delivery: { statsMs: 100 }, dashboard: { pushMs: 300 } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  // Script errors, CSP violations, and anything fetched from somewhere else fail the test.
  page.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const where = message.location().url;
    // Before logging in, the page's first question (is there a session?) is meant to get a 401.
    if (!loggedIn && where.endsWith('/v1/admin/dashboard/snapshot') && message.text().includes('401')) return;
    pageProblems.push(`console: ${message.text()} (${where})`);
  });
  page.on('request', (request) => {
    if (!request.url().startsWith(service.url)) pageProblems.push(`request to another origin: ${request.url()}`);
  });
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await database?.drop();
});

const text = async (selector: string) => (await page.locator(selector).textContent())?.trim();

/** Waits until the element's text is `want`. */
async function untilText(selector: string, want: string, what: string) {
  await eventually(async () => ((await text(selector)) === want ? true : undefined), 15_000, `${what} (${selector} is ${await text(selector)})`);
}

test.skipIf(!hasChromium)(`the dashboard: log in, watch the numbers move, redrive a dead letter${hasChromium ? '' : ` (skipped: ${SKIP_REASON})`}`, async () => {
  const sender: TestClient = await registerClient(service.admin, 'sender');
  await registerClient(service.admin, 'sink', ['topic:load']); // never receives: its queue grows
  const fragile = await registerClient(service.admin, 'fragile', ['topic:fragile']);
  expect((await service.admin.put(`/v1/admin/clients/${fragile.id}/queue-policy`, { max_receives: 1 })).status).toBe(200);

  // Log in once: the token goes in the form, a session cookie comes back.
  await page.goto(`${service.url}/dashboard`);
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.locator('#token').fill(TEST_ADMIN_TOKEN);
  await page.locator('#login-form button[type=submit]').click();
  await page.locator('#board').waitFor({ state: 'visible' });
  loggedIn = true;
  await eventually(async () => ((await page.locator('#status').getAttribute('class'))?.includes('live') ? true : undefined), 10_000, 'the stream');
  const cookies = await page.context().cookies();
  expect(cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite }))).toEqual([
    { name: 'switchyard_admin_session', httpOnly: true, sameSite: 'Strict' },
  ]);
  // The page never keeps the token, and a reload stays logged in.
  expect(await page.evaluate('JSON.stringify([sessionStorage, localStorage, document.cookie])')).not.toContain(TEST_ADMIN_TOKEN);
  await page.reload();
  await page.locator('#board').waitFor({ state: 'visible' });

  // The numbers move while we publish: the queue depth follows, batch by batch.
  await untilText('#tile-depth', '0', 'empty queues');
  let published = 0;
  for (const batch of [10, 15]) {
    for (let i = 0; i < batch; i++) await publish(sender, { to: 'topic:load', payload: { n: ++published } });
    await untilText('#tile-depth', String(published), `the depth after publishing ${published}`);
  }
  await eventually(async () => (Number(await text('#tile-published')) > 0 ? true : undefined), 15_000, 'a publish rate above zero');
  await eventually(async () => ((await page.locator('#queues tbody tr', { hasText: 'sink' }).textContent())?.includes('25') ? true : undefined), 15_000, 'sink in the queues table');
  expect(await page.locator('#chart-depth canvas').count()).toBe(1);
  expect(await page.locator('#chart-lag .u-legend').textContent()).toContain('routing');

  // A dead letter: fragile may receive a message once; a nack buries it.
  const id = await publish(sender, { to: 'topic:fragile', payload: { please: 'redrive me' } });
  const received = await eventually(async () => (await fragile.api.get('/v1/inbox?wait=2')).body.messages[0], 10_000, 'fragile to receive');
  const nacked = await fragile.api.post('/v1/inbox/nack', { receipts: [received.receipt], reason: 'could not parse it' });
  expect(nacked.body.dead_lettered).toHaveLength(1);
  await untilText('#tile-dead', '1', 'one dead letter on the tiles');

  // Redrive it from the page.
  await page.locator('#dlq-client').fill(fragile.id);
  await page.locator('#dlq-filter button[type=submit]').click();
  const row = page.locator('#dead-letters tbody tr', { hasText: 'could not parse it' });
  await row.waitFor({ state: 'visible' });
  expect(await row.textContent()).toContain('fragile');
  await row.locator(`button[data-message-id="${id}"]`).click();
  await eventually(async () => ((await text('#dlq-result'))?.startsWith('Redrove 1') ? true : undefined), 10_000, 'the redrive result');
  await untilText('#dead-letters tbody tr', 'no dead letters match', 'an empty dead-letter list');
  await untilText('#tile-dead', '0', 'no dead letters on the tiles');

  // Delivered again: fragile receives the same message.
  const again = await eventually(async () => (await fragile.api.get('/v1/inbox?wait=2')).body.messages[0], 10_000, 'the redriven message');
  expect(again).toMatchObject({ id, payload: { please: 'redrive me' } });

  // An anomaly on topic:load: listed, and a click draws the series with its band and the anomaly marked.
  await sql`insert into switchyard.anomaly (series_kind, series_key, window_start, observed, band_low, band_high, direction, severity, state)
            values ('count', 'topic:load', date_trunc('minute', now()), 25, 0, 5, 'spike', 9, 'open')`.execute(database.db);
  const anomaly = page.locator('#anomalies tbody tr', { hasText: 'topic:load' }).first();
  await anomaly.waitFor({ state: 'visible', timeout: 15_000 });
  expect(await anomaly.textContent()).toContain('spike');
  await anomaly.locator('button').click();
  await page.locator('#chart-band canvas').waitFor({ state: 'visible' });
  expect(await page.locator('#chart-band .u-legend').textContent()).toContain('band high');
  expect(await page.locator('#labels tbody').textContent()).toContain('no labels in the last hour');

  mkdirSync('test-results', { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(pageProblems).toEqual([]);
});
