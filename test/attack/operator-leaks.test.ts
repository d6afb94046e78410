// What an operator's surroundings could leak or be tricked with: the HTML pages must not be
// framable by other sites, a client's X-Request-Id must not become the log's request id, and a
// generated admin token must not end up in a log collector (stdout or stderr that is no terminal).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ADMIN_TOKEN_FILE, announceGeneratedAdminToken } from '../../src/auth/admin-token-notice.ts';
import { createApp } from '../../src/http/app.ts';
import { CLIENT_REQUEST_ID_MAX_LENGTH } from '../../src/http/request-id.ts';
import { createRouter } from '../../src/http/openapi.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually } from '../helpers/factories.ts';
import { api } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const CLI = path.resolve(import.meta.dirname, '../../src/cli.ts');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let database: TestDatabase;
let service: TestService;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

describe('pages other sites might frame', () => {
  test.each(['/docs', '/dashboard'])('%s sends CSP frame-ancestors \'none\' and X-Frame-Options: DENY', async (page) => {
    const reply = await service.anonymous.get(page);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-security-policy')).toMatch(/(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
    expect(reply.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe("a client's X-Request-Id", () => {
  function app(lines: string[]) {
    const built = createApp({ log: createLogger('debug', {}, (line) => lines.push(line) > 0), maxBodyBytes: 1024 });
    built.route('/v1', createRouter().get('/things', (c) => c.json({ things: [] })));
    return built;
  }
  const logged = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'request');

  test('is not our request id: every request gets its own, the client\'s is logged beside it as client_request_id', async () => {
    const lines: string[] = [];
    const first = await app(lines).request('/v1/things', { headers: { 'x-request-id': 'someone-elses-id' } });
    const second = await app(lines).request('/v1/things', { headers: { 'x-request-id': 'someone-elses-id' } });
    const ids = [first.headers.get('x-request-id'), second.headers.get('x-request-id')];
    for (const id of ids) expect(id).toMatch(UUID);
    expect(ids[0]).not.toBe(ids[1]);
    expect(logged(lines)).toEqual([
      expect.objectContaining({ request_id: ids[0], client_request_id: 'someone-elses-id' }),
      expect.objectContaining({ request_id: ids[1], client_request_id: 'someone-elses-id' }),
    ]);
  });

  test(`is cut to ${CLIENT_REQUEST_ID_MAX_LENGTH} characters, and dropped when it holds anything but visible ASCII`, async () => {
    const lines: string[] = [];
    await app(lines).request('/v1/things', { headers: { 'x-request-id': 'a'.repeat(CLIENT_REQUEST_ID_MAX_LENGTH + 50) } });
    await app(lines).request('/v1/things', { headers: { 'x-request-id': 'café latte' } });
    const [long, odd] = logged(lines);
    expect(long!.client_request_id).toBe('a'.repeat(CLIENT_REQUEST_ID_MAX_LENGTH));
    expect(odd).not.toHaveProperty('client_request_id');
  });
});

describe('a generated admin token', () => {
  let dataDir: string;
  let fresh: TestDatabase;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'switchyard-token-'));
    fresh = await createTestDatabase();
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await fresh?.drop();
  });

  test('from serve with no terminal: neither stdout nor stderr carries it; a 0600 file in the data folder does', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--no-migrate', '--roles', 'router'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: fresh.url, PORT: '0', SWITCHYARD_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          const match = /listening on (http:\/\/\S+)/.exec(stderr);
          if (match) resolve(match[1]!);
        });
        void exited.then(() => reject(new Error(`exited early: ${stderr}`)));
      });
      const file = path.join(dataDir, ADMIN_TOKEN_FILE);
      // It is written right after the "listening" line.
      const token = await eventually(async () => (await readFile(file, 'utf8').catch(() => '')).trim() || undefined, 10_000, 'the token file');
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      await new Promise((resolve) => setTimeout(resolve, 200)); // anything printed after start is in
      expect(stdout + stderr).not.toContain(token);
      expect(stdout + stderr).toContain(path.resolve(file));
      expect((await api(url, token).get('/v1/admin/groups/ops/members')).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  test('on a terminal: shown there once, and no file is written', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'switchyard-tty-'));
    try {
      let shown = '';
      const file = announceGeneratedAdminToken('t'.repeat(43), dir, { isTTY: true, write: (text: string) => (shown += text) });
      expect(file).toBeUndefined();
      expect(shown).toContain('t'.repeat(43));
      await expect(stat(path.join(dir, ADMIN_TOKEN_FILE))).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
