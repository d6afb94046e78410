// DATABASE_URL in libpq's multi-host form: what the configuration accepts and how it is split.
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { needsPicker, parseDatabaseUrl, type DatabaseTarget } from '../src/db/database-url.ts';

const parse = (url: string) => parseDatabaseUrl(url) as DatabaseTarget;

describe('parseDatabaseUrl', () => {
  test('splits several hosts into one URL each, without target_session_attrs and keeping the other parameters', () => {
    const target = parse('postgres://app:s%40cret@db1:5432,db2:6543,[::1]/switch?target_session_attrs=read-write&sslmode=disable');
    expect(target.readWrite).toBe(true);
    expect(target.hosts).toEqual([{ host: 'db1', port: 5432 }, { host: 'db2', port: 6543 }, { host: '[::1]', port: 5432 }]);
    expect(target.hosts.map(target.urlFor)).toEqual([
      'postgres://app:s%40cret@db1:5432/switch?sslmode=disable',
      'postgres://app:s%40cret@db2:6543/switch?sslmode=disable',
      'postgres://app:s%40cret@[::1]:5432/switch?sslmode=disable',
    ]);
    expect(needsPicker(target)).toBe(true);
  });

  test('a single host without target_session_attrs needs no picking', () => {
    expect(needsPicker(parse('postgresql://app@localhost/switch'))).toBe(false);
    expect(needsPicker(parse('postgresql://app@localhost/switch?target_session_attrs=primary'))).toBe(true);
  });

  test('refuses what it cannot honour, saying why', () => {
    expect(parseDatabaseUrl('mysql://db/x')).toMatch(/expected postgres:\/\//);
    expect(parseDatabaseUrl('postgres://db1:70000/x')).toMatch(/port 70000 is out of range/);
    expect(parseDatabaseUrl('postgres://db1,db2/x?target_session_attrs=standby')).toMatch(/only read-write, primary or any/);
    expect(parseDatabaseUrl('postgres://db1/x?target_session_attrs=sometimes')).toMatch(/not one of/);
  });

  test('the configuration accepts the multi-host form and names the variable of a bad one', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@h1:5432,h2:5433/db?target_session_attrs=read-write' }).databaseUrl).toContain('h2:5433');
    expect(() => loadConfig({ SWITCHYARD_READ_REPLICA_URL: 'postgres://h1:99999/db' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'http://nope' })).toThrow(/DATABASE_URL: expected postgres/);
    expect(() => loadConfig({ SWITCHYARD_READ_REPLICA_URL: 'postgres://u@r1,r2/db' })).toThrow(/SWITCHYARD_READ_REPLICA_URL: one replica host only/);
    expect(loadConfig({ SWITCHYARD_READ_REPLICA_URL: 'postgres://u:p@r1:5433/db?sslmode=require' }).readReplicaUrl).toBe('postgres://u:p@r1:5433/db?sslmode=require');
  });
});
