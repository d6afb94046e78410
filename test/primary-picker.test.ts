// The primary picker on the test server: which host it chooses, how it fails, and that a pool
// whose sockets it opens reaches the chosen host whatever host the pool's URL names.
import pg from 'pg';
import { describe, expect, inject, test } from 'vitest';
import { parseDatabaseUrl, type DatabaseTarget } from '../src/db/database-url.ts';
import { createPool } from '../src/db/database.ts';
import { NoWritableHostError, PrimaryPicker } from '../src/db/primary-picker.ts';
import { createLogger } from '../src/logger.ts';
import { freePort } from './helpers/local-postgres.ts';

const log = createLogger('silent');

/** The test server's URL with `hosts` in place of its host. */
function multiHost(hosts: string[]): DatabaseTarget {
  const server = new URL(inject('serverUrl'));
  return parseDatabaseUrl(`postgres://${server.username}:${server.password}@${hosts.join(',')}${server.pathname}?target_session_attrs=read-write`) as DatabaseTarget;
}

describe('PrimaryPicker', () => {
  test('chooses the first writable host, past one that refuses connections', async () => {
    const server = new URL(inject('serverUrl'));
    const picker = new PrimaryPicker(multiHost([`127.0.0.1:${await freePort()}`, `${server.hostname}:${server.port}`]), log);
    expect(await picker.current()).toEqual({ host: server.hostname, port: Number(server.port) });
  });

  test('with no writable host it fails like a server that cannot take connections now (57P03), naming every host', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const picker = new PrimaryPicker(multiHost([`127.0.0.1:${a}`, `127.0.0.1:${b}`]), log);
    const failure = await picker.current().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(NoWritableHostError);
    expect((failure as NoWritableHostError).code).toBe('57P03');
    expect((failure as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${a} unreachable.*127\\.0\\.0\\.1:${b} unreachable`));
  });

  test('a pool opening its sockets through the picker reaches the chosen host, whatever host its URL names', async () => {
    const server = new URL(inject('serverUrl'));
    const dead = await freePort();
    const picker = new PrimaryPicker(multiHost([`127.0.0.1:${dead}`, `${server.hostname}:${server.port}`]), log);
    const url = `postgres://${server.username}:${server.password}@127.0.0.1:${dead}${server.pathname}`; // the dead host
    const pool: pg.Pool = createPool({ url, max: 2, statementTimeoutMs: 5_000, idleInTransactionTimeoutMs: 5_000, applicationName: 'switchyard:test', stream: picker.socketFactory() }, log);
    try {
      const { rows } = await pool.query<{ port: number }>('select inet_server_port() as port');
      expect(rows[0]!.port).toBe(Number(server.port));
    } finally {
      await pool.end();
    }
  });
});
