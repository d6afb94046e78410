// The switchyard command: configuration errors stop it before anything opens, naming the variable;
// migrate status/down/up work against a real database.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MIGRATIONS_DIR } from '../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../src/cli.ts');

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('configuration', () => {
  test('a bad value names its variable and exits non-zero before opening anything', async () => {
    const result = await cli(['serve'], { PORT: 'eighty', SWITCHYARD_ROLES: 'router,teleport', DATABASE_URL: 'postgres://nowhere.invalid/x' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('SWITCHYARD_ROLES');
    expect(result.stderr).not.toContain('ECONNREFUSED');
  });

  test('an unknown command prints the usage and exits 2', async () => {
    const result = await cli(['frobnicate'], { DATABASE_URL: 'postgres://nowhere.invalid/x' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: switchyard');
  });
});

describe('migrate', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  test('status, down and up move the schema back and forth', async () => {
    const env = { DATABASE_URL: database.url, LOG_LEVEL: 'silent' };
    // down reverts the newest migration, whichever it is
    const newest = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.up.sql')).sort().at(-1)!.replace('.up.sql', '');
    expect((await cli(['migrate', 'status'], env)).stdout).toMatch(/applied .*0001_initial/);
    expect((await cli(['migrate', 'down'], env)).stdout).toContain(`reverted ${newest}`);
    expect((await cli(['migrate', 'status'], env)).stdout).toMatch(new RegExp(`pending .*${newest}`));
    expect((await cli(['migrate', 'latest'], env)).stdout).toContain(`applied ${newest}`);
    expect((await cli(['migrate', 'latest'], env)).stdout).toContain('nothing to apply');
  });
});

describe('serve', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  test('SIGTERM ends waits and streams cleanly and exits 0 after the shutdown', async () => {
    const { spawn } = await import('node:child_process');
    const { openEventStream } = await import('./helpers/sse.ts');
    const { api } = await import('./helpers/http.ts');
    const adminToken = 'cli-test-admin-token-0123456789abcdef012345';
    const child = spawn(process.execPath, [CLI, 'serve', '--no-migrate', '--roles', 'router,routing,push'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.url, PORT: '0', SWITCHYARD_ADMIN_TOKEN: adminToken, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      void exited.then(() => reject(new Error(`exited early: ${stderr}`)));
    });

    const registered = await api(url, adminToken).post('/v1/clients', { name: 'waiter' });
    const client = api(url, registered.body.token);
    const stream = await openEventStream(`${url}/v1/inbox/stream`, { token: registered.body.token });
    const polling = client.get('/v1/inbox?wait=20');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    child.kill('SIGTERM');

    const poll = await polling;
    expect(poll.status).toBe(200);
    expect(poll.body.messages).toEqual([]);
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    await stream.next(1_000);
    expect(stream.ended).toBe(true);
    expect(stdout).toContain('"msg":"stopped"');
  });
});
