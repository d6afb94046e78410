// The README's examples run, as written, against a real service (the built package, imported by name).
import { execFile, execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { publish, registerClient } from '../../test/helpers/factories.ts';
import { startTestService, type TestService } from '../../test/helpers/service.ts';

const run = promisify(execFile);
const CLIENT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
let database: TestDatabase;
let service: TestService;

beforeAll(async () => {
  execFileSync(process.execPath, [join(CLIENT_ROOT, 'scripts', 'build.ts')], { stdio: 'ignore' });
  database = await createTestDatabase();
  service = await startTestService(database.url, { SWITCHYARD_RATE_LIMIT_PER_SECOND: '0' });
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

async function example(file: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, [join(CLIENT_ROOT, 'examples', file)], {
    cwd: CLIENT_ROOT, env: { PATH: process.env.PATH ?? '', SWITCHYARD_URL: service.url, ...env }, timeout: 30_000,
  });
  return stdout;
}

test('examples/publish-and-consume.ts publishes, consumes over WebSocket and gets a reply', async () => {
  const alice = await registerClient(service.admin, 'alice');
  const out = await example('publish-and-consume.ts', { SWITCHYARD_TOKEN: alice.token, SWITCHYARD_NAME: 'alice' });
  expect(out).toContain('published 3');
  expect(out).toContain('state open over ws');
  for (const n of [1, 2, 3]) expect(out).toContain(`received greeting ${n}`);
  expect(out).toContain('reply 42');
  expect(out.trim().endsWith('done')).toBe(true);
});

test('examples/iterate.ts prints what waits in the inbox and stops when idle', async () => {
  const bob = await registerClient(service.admin, 'bob');
  const sender = await registerClient(service.admin, 'carol');
  await publish(sender, { to: 'user:bob', payload: { hi: 'bob' } });
  const out = await example('iterate.ts', { SWITCHYARD_TOKEN: bob.token });
  expect(out).toContain('user:carol -> user:bob: {"hi":"bob"}');
  expect(out).toContain('idle, done');
});

test('API.md is the reference generated from the current source', async () => {
  const { renderApiReference } = await import('../scripts/api-reference.ts');
  const { readFileSync } = await import('node:fs');
  expect(readFileSync(join(CLIENT_ROOT, 'API.md'), 'utf8')).toBe(renderApiReference());
});
