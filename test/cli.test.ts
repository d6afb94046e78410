// The switchyard command: configuration errors stop it before anything opens, naming the variable;
// migrate status/down/up work against a real database; the admin helpers (clients, dlq, stats)
// do what they say, on DATABASE_URL or on the embedded database a running service holds.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ProgressBar } from '../src/cli/progress-bar.ts';
import { refreshQueueStats } from '../src/inbox/queue-stats.repository.ts';
import { MIGRATIONS_DIR } from '../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { insertMessages } from '../src/messages/messages.repository.ts';
import { createQueueClient, newMessage, publishAndRoute } from './helpers/queue.ts';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../src/cli.ts');
const ROOT = path.resolve(import.meta.dirname, '..');

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

  test('a published placeholder admin token stops serve with exit 2, naming the variable and not the value', async () => {
    const placeholder = 'change-me-to-a-secret-of-32-characters-or-more'; // docker-compose.yml's default until it was removed
    const result = await cli(['serve'], { SWITCHYARD_ADMIN_TOKEN: placeholder, DATABASE_URL: 'postgres://nowhere.invalid/x' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SWITCHYARD_ADMIN_TOKEN: is a placeholder');
    expect(result.stderr).not.toContain(placeholder);
    expect(result.stderr).not.toContain('ENOTFOUND'); // refused before any connection
  });

  test('config prints every variable with its value and source, and never a secret', async () => {
    const adminToken = 'ops-admin-4f1c9e2ab7d05e38c61f0d9b2a7e';
    const metricsToken = 'ops-metrics-9b2a7e4f1c9e2ab7d05e38c61f';
    const password = 'pa55-w0rd-nobody-may-read';
    const result = await cli(['config'], {
      DATABASE_URL: `postgres://switchyard:${password}@db1:5432,db2:5432/switchyard?target_session_attrs=read-write`,
      SWITCHYARD_READ_REPLICA_URL: `postgres://reader@replica:5432/switchyard?password=${password}`,
      SWITCHYARD_ADMIN_TOKEN: adminToken, SWITCHYARD_METRICS_TOKEN: metricsToken, PORT: '8080',
    });
    expect(result.code).toBe(0);
    const rows = new Map(result.stdout.trim().split('\n').slice(1).map((line) => {
      const [name, ...rest] = line.split(/\s{2,}/);
      return [name!, rest] as const;
    }));
    expect(rows.get('PORT')).toEqual(['8080', 'env']);
    expect(rows.get('HOST')).toEqual(['127.0.0.1', 'default']);
    expect(rows.get('SWITCHYARD_POOL_MAX')).toEqual(['20', 'default']);
    expect(rows.get('DATABASE_URL')).toEqual(['postgres://switchyard:****@db1:5432,db2:5432/switchyard?target_session_attrs=read-write', 'env']);
    expect(rows.get('SWITCHYARD_READ_REPLICA_URL')).toEqual(['postgres://reader@replica:5432/switchyard?password=****', 'env']);
    expect(rows.get('SWITCHYARD_ADMIN_TOKEN')).toEqual(['****', 'env']);
    expect(rows.get('SWITCHYARD_METRICS_TOKEN')).toEqual(['****', 'env']);
    expect(rows.has('SWITCHYARD_QUEUE_STATS_MS')).toBe(false); // a constant, not a setting
    for (const secret of [adminToken, metricsToken, password]) {
      expect(result.stdout).not.toContain(secret);
      expect(result.stderr).not.toContain(secret);
    }
  });

  test('config names a variable that is set but no longer read, and where its constant is', async () => {
    const result = await cli(['config'], { SWITCHYARD_QUEUE_STATS_MS: '100' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('set but no longer read');
    expect(result.stdout).toContain('SWITCHYARD_QUEUE_STATS_MS: delivery.statsMs');
  });

  test('config refuses a bad value like serve does, naming the variable', async () => {
    const result = await cli(['config'], { SWITCHYARD_POOL_MAX: '1' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SWITCHYARD_POOL_MAX');
    expect(result.stdout).toBe('');
  });

  test('an unknown command prints the usage and exits 2', async () => {
    const result = await cli(['frobnicate'], { DATABASE_URL: 'postgres://nowhere.invalid/x' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: switchyard');
  });
});

describe('the entry point', () => {
  const ENTRY = path.resolve(import.meta.dirname, '../src/switchyard.js');
  // An older Node to try it with: the machine's own (Debian's is 20), unless told otherwise.
  const oldNode = process.env.SWITCHYARD_OLD_NODE ?? '/usr/bin/node';
  const versionOf = (node: string) => {
    try {
      return execFileSync(node, ['--version']).toString().trim();
    } catch {
      return undefined;
    }
  };
  const oldVersion = versionOf(oldNode);
  const tooOld = oldVersion !== undefined && /^v(\d+)\.(\d+)/.exec(oldVersion)!.slice(1).map(Number).reduce((major, minor) => major * 1000 + minor) < 22_018;
  if (!tooOld) process.stderr.write(`test/cli.test.ts: no Node older than 22.18 at ${oldNode} (${oldVersion ?? 'none'}): the old-Node check is skipped\n`);

  test('runs the command on this Node', async () => {
    const { stdout } = await run(process.execPath, [ENTRY, '--help']);
    expect(stdout).toContain('usage: switchyard');
  });

  test('run as a program (its #! line), it gets the Node flags npm start and the image give, and runs', async () => {
    const flagsAfterNode = (words: string[]) => words.slice(words.indexOf('node') + 1).filter((word) => word.startsWith('--'));
    const shebang = flagsAfterNode(readFileSync(ENTRY, 'utf8').split('\n')[0]!.split(' '));
    const start = flagsAfterNode((JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' '));
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(path.join(ROOT, 'deploy/Dockerfile'), 'utf8'))![1]!;
    expect(start).toContain('--max-semi-space-size=32');
    expect(shebang).toEqual(start);
    expect(flagsAfterNode(JSON.parse(entrypoint) as string[])).toEqual(start);
    const { stdout } = await run(ENTRY, ['--help'], { env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` } });
    expect(stdout).toContain('usage: switchyard');
  });

  test.skipIf(!tooOld)('on a Node older than 22.18 it says in one line which Node it needs, with no stack trace', async () => {
    const result = await run(oldNode, [ENTRY, 'serve']).then(() => ({ code: 0, stderr: '' }), (error: { code: number; stderr: string }) => error);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining('needs Node.js 22.18 or newer')]);
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

describe('admin commands', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await createTestDatabase();
    env = { DATABASE_URL: database.url, LOG_LEVEL: 'silent' };
  });
  afterAll(async () => {
    await database?.drop();
  });

  test('clients create, list and revoke', async () => {
    const created = await cli(['clients', 'create', 'ann', '--listen-to', 'topic:news,topic:sport'], env);
    expect(created.code, created.stderr).toBe(0);
    const id = /client (\d+) \(ann\) listens to topic:news, topic:sport, user:ann/.exec(created.stdout)?.[1];
    expect(id, created.stdout).toBeDefined();
    expect(created.stdout).toMatch(/token \(shown once\): sy_[\w-]{43}/);
    expect((await cli(['clients', 'create', 'not a name'], env)).code).toBe(2);
    expect((await cli(['clients', 'create', 'bob', '--listen-to', 'news'], env)).stderr).toContain('--listen-to news');

    // A filter (set over HTTP, here straight in SQL) is listed beside its address.
    await sql`update switchyard.subscription set filter = '{"type": ["goal"]}' where client_id = ${id} and address = 'topic:sport'`.execute(database.db);
    const listed = await cli(['clients', 'list'], env);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+CREATED\s+REVOKED\s+LISTENS TO$/);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+ann\\s+\\S+\\s+-\\s+topic:news,topic:sport filter=\\{"type":\\["goal"\\]\\},user:ann`));

    expect((await cli(['clients', 'revoke', id!], env)).stdout).toContain(`client ${id} (ann) revoked at`);
    expect((await cli(['clients', 'list'], env)).stdout).not.toContain('ann');
    expect((await cli(['clients', 'list', '--revoked'], env)).stdout).toMatch(/ann\s+\S+\s+\d{4}-\d\d-\d\dT/);
  });

  test('dlq list, redrive with progress, and purge (which wants a filter or --all)', async () => {
    const db = database.db;
    const clientId = await createQueueClient(db, 'dora');
    await publishAndRoute(db, Array.from({ length: 5 }, () => newMessage('topic:dora')));
    const bury = () => sql`
      with moved as (delete from switchyard.delivery where client_id = ${clientId} returning *)
      insert into switchyard.dead_letter (client_id, message_id, reason, receive_count, last_error, enqueued_at, priority)
      select client_id, message_id, 'max_receives', 3, 'billing timed out', enqueued_at, priority from moved`.execute(db);
    await bury();
    const filter = ['--client', clientId, '--error', 'billing'];

    const listed = await cli(['dlq', 'list', ...filter], env);
    expect(listed.stdout.trim().split('\n')).toHaveLength(1 + 5);
    expect(listed.stdout).toMatch(/dora \(\d+\)\s+\S+\s+max_receives\s+3\s+billing timed out/);

    // Not a terminal: one plain line per progress update, then the summary.
    const redriven = await cli(['dlq', 'redrive', ...filter, '--batch-size', '2'], env);
    expect(redriven.code, redriven.stderr).toBe(0);
    expect(redriven.stdout).toMatch(/^redrive: 0\/5\nredrive: 5\/5 \d+\/s\n5 dead letters redriven in 3 batches\n$/);
    const back = await sql<{ n: number }>`select count(*)::int as n from switchyard.delivery where client_id = ${clientId}`.execute(db);
    expect(back.rows[0]!.n).toBe(5);

    await bury();
    const refused = await cli(['dlq', 'purge'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--all');
    expect((await cli(['dlq', 'purge', '--client', clientId], env)).stdout).toContain('5 dead letters purged in 1 batches');
    expect((await cli(['dlq', 'list'], env)).stdout.trim().split('\n')).toHaveLength(1);
  });

  test('stage-dlq lists the messages a stage gave up on and redrives them to its retries', async () => {
    const db = database.db;
    const { ids: [id] } = await insertMessages(db, [newMessage('topic:stage-dlq')], 300);
    await sql`
      insert into switchyard.stage_dead_letter (stage, message_id, attempts, first_failed_at, last_error)
      values ('persistence', ${id}, 3, now(), 'history is read-only')`.execute(db);

    const listed = await cli(['stage-dlq', 'list', 'persistence'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^FAILED AT\\s+MESSAGE\\s+ATTEMPTS\\s+LAST ERROR\\n\\S+\\s+${id}\\s+3\\s+history is read-only\\n$`));
    expect((await cli(['stage-dlq', 'list', 'routing'], env)).stdout.trim().split('\n')).toHaveLength(1);
    expect((await cli(['stage-dlq', 'list', 'nowhere'], env)).code).toBe(2);
    expect((await cli(['stage-dlq', 'redrive', 'persistence', '--messages', 'not-an-id'], env)).stderr).toContain('--messages not-an-id');

    const redriven = await cli(['stage-dlq', 'redrive', 'persistence'], env);
    expect(redriven.stdout).toBe('1 persistence dead letters redriven\n');
    const retry = await sql<{ stage: string; attempts: number; due: boolean }>`
      select stage, attempts, next_attempt_at <= now() as due from switchyard.stage_retry where message_id = ${id}`.execute(db);
    expect(retry.rows).toEqual([{ stage: 'persistence', attempts: 0, due: true }]);
    expect((await cli(['stage-dlq', 'list', 'persistence'], env)).stdout.trim().split('\n')).toHaveLength(1);
  });

  test('stats --once prints the queues and stages', async () => {
    const db = database.db;
    await createQueueClient(db, 'erin');
    await publishAndRoute(db, [newMessage('topic:erin'), newMessage('topic:erin')]);
    await db.transaction().execute((tx) => refreshQueueStats(tx));
    const stats = await cli(['stats', '--once'], env);
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/Queues\s+\d+ holding messages: \d+ visible/);
    expect(stats.stdout).toMatch(/^routing\s+\S+\s+0\s+0\s+0\s+1$/m);
    expect(stats.stdout).toMatch(/^persistence\s+\S+\s+\d+\s/m);
    expect(stats.stdout).toMatch(/^erin\s+\d+\s+2\s+2\s+0\s+0\s/m);
    expect(stats.stdout).not.toContain('\x1b'); // not a terminal: no escape codes
  });

  test('a progress bar redraws one line on a terminal, and prints lines elsewhere', () => {
    const written: string[] = [];
    const tty = new ProgressBar({ isTTY: true, write: (text: string) => written.push(text) }, 'redrive');
    tty.update(0, 10);
    tty.update(5, 10);
    tty.finish('done');
    expect(written[1]).toMatch(/^\rredrive \[#{15}-{15}\] 50% 5\/10/);
    expect(written.slice(2)).toEqual(['\n', 'done\n']);
    const plain: string[] = [];
    const bar = new ProgressBar({ isTTY: false, write: (text: string) => plain.push(text) }, 'purge');
    bar.update(3, 4);
    bar.finish('ok');
    expect(plain[0]).toMatch(/^purge: 3\/4/);
    expect(plain[1]).toBe('ok\n');
  });
});

const hasPsql = (() => {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    process.stderr.write('test/cli.test.ts: no psql on PATH: `switchyard psql` is not tried\n');
    return false;
  }
})();

describe('admin commands next to a running service on the embedded database', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'switchyard-cli-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('use the database the service runs instead of refusing its busy data folder, psql included', async () => {
    const { spawn } = await import('node:child_process');
    const env = { PATH: process.env.PATH ?? '', SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_EMBEDDED_PG_PORT: '0', LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [CLI, 'serve', '--roles', 'router'], { env: { ...env, PORT: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes('listening on')) resolve();
        });
        void exited.then(() => reject(new Error(`exited early: ${stderr}`)));
      });
      const created = await cli(['clients', 'create', 'fay'], env);
      expect(created.code, created.stderr).toBe(0);
      expect((await cli(['clients', 'list'], env)).stdout).toContain('fay');
      if (hasPsql) {
        // The README's way into the embedded database: no port or password file to dig out.
        const psql = await cli(['psql', '--command', 'select name from switchyard.client'], env);
        expect(psql.code, psql.stderr).toBe(0);
        expect(psql.stdout).toContain('fay');
      }
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
