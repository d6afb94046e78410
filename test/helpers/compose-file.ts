// Reads docker-compose.yml as Compose does, without a Docker engine: YAML with merge keys, the
// project's .env, variable interpolation and profiles. Enough of Compose for test/compose.test.ts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const PROJECT_DIR = path.resolve(import.meta.dirname, '../..');

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  profiles?: string[];
  command?: string[];
  ports?: (string | { target: number; published?: string | number; host_ip?: string })[];
  depends_on?: string[] | Record<string, { condition: string }>;
  environment?: Record<string, string>;
  volumes?: string[];
  container_name?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

export function readProjectFile(name: string): string {
  return readFileSync(path.join(PROJECT_DIR, name), 'utf8');
}

/** The project's .env: NAME=value lines, # comments. */
export function readDotEnv(): Record<string, string> {
  const entries = readProjectFile('.env').split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
  return Object.fromEntries(entries);
}

/** Parsed and interpolated with `env` (the shell's variables over .env's, as Compose takes them). */
export function loadCompose(env: Record<string, string>): ComposeFile {
  return interpolate(parse(readProjectFile('docker-compose.yml'), { merge: true }), { ...readDotEnv(), ...env }) as ComposeFile;
}

const VARIABLE = /\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|)/g;

/** Compose's interpolation of every string value: $$, $NAME, ${NAME}, ${NAME:-default},
 *  ${NAME-default}, ${NAME:?error}, ${NAME?error}. A missing required variable throws its error. */
export function interpolate(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (whole, dollar?: string, bare?: string, braced?: string, operator?: string, argument?: string) => {
      if (dollar) return '$';
      const name = bare ?? braced;
      if (!name) throw new Error(`invalid interpolation in ${JSON.stringify(value)}`);
      const current = env[name];
      const missing = operator?.startsWith(':') ? current === undefined || current === '' : current === undefined;
      if (operator?.endsWith('?') && missing) throw new Error(`required variable ${name} is missing a value: ${argument}`);
      if (operator?.endsWith('-') && missing) return argument ?? '';
      return current ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env)]));
  }
  return value;
}

/** The services `up` starts with these profiles active: those without profiles, and those in one. */
export function activeServices(file: ComposeFile, profiles: string[]): string[] {
  return Object.entries(file.services)
    .filter(([, service]) => !service.profiles || service.profiles.some((profile) => profiles.includes(profile)))
    .map(([name]) => name)
    .sort();
}

export function dependencies(service: ComposeService): string[] {
  const dependsOn = service.depends_on ?? [];
  return Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn);
}

export interface PublishedPort { hostIp: string | undefined; hostPort: string | undefined; containerPort: string }

/** A service's ports in either syntax: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], or the long form. */
export function publishedPorts(service: ComposeService): PublishedPort[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== 'string') {
      return { hostIp: port.host_ip, hostPort: port.published === undefined ? undefined : String(port.published), containerPort: String(port.target) };
    }
    const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(port); // an IPv6 host address
    const rest = bracketed ? bracketed[2]!.split(':') : port.split(':');
    const parts = bracketed ? [bracketed[1]!, ...rest] : rest;
    const containerPort = parts.at(-1)!.replace(/\/(tcp|udp)$/, '');
    if (parts.length === 1) return { hostIp: undefined, hostPort: undefined, containerPort };
    if (parts.length === 2) return { hostIp: undefined, hostPort: parts[0], containerPort };
    return { hostIp: parts.slice(0, -2).join(':'), hostPort: parts.at(-2), containerPort };
  });
}

/** The roles a Switchyard service runs: its --roles list, or all of them without one. */
export function serviceRoles(service: ComposeService, allRoles: readonly string[]): string[] {
  const command = service.command ?? [];
  if (command[0] !== 'serve') return [];
  const at = command.indexOf('--roles');
  return at === -1 ? [...allRoles] : command[at + 1]!.split(',');
}
