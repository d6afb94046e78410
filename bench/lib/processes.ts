// Child processes of a benchmark: the Switchyard service (roles as asked) and load generators,
// each its own Node process, talking over 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef0123456789';
/** Node's flags as `npm start` gives them (the young generation's ceiling, src/switchyard.js), so the service is measured as it ships. */
export const SERVICE_NODE_FLAGS = nodeFlagsOfStart();

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Kills every service and load generator still running (an interrupted run). */
export function killChildren(): void {
  for (const child of children) child.kill('SIGKILL');
}

export interface RunningService {
  url: string;
  pid: number;
  /** Resident set size of the service process, in bytes (Linux /proc). */
  rss(): number;
  stop(): Promise<void>;
  /** The last 20,000 characters it printed (its logs), for diagnosing a failed run. */
  output(): string;
  /** Sends a signal (SIGKILL in the fault suite) and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startService(databaseUrl: string, roles: string, env: Record<string, string> = {}): Promise<RunningService> {
  const child = track(spawn(process.execPath, [...SERVICE_NODE_FLAGS, path.join(ROOT, 'src/switchyard.js'), 'serve', '--no-migrate', '--roles', roles], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: databaseUrl,
      PORT: '0',
      SWITCHYARD_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      LOG_LEVEL: 'warn',
      SWITCHYARD_STAGE_WORKERS: '2',
      SWITCHYARD_RATE_LIMIT_PER_SECOND: '0', // the load comes from one client on purpose
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`service exited with ${code}: ${output}`)));
  });
  return {
    url,
    pid: child.pid!,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    stop: () => stopChild(child),
    output: () => output,
    kill: (signal) => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    }),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Runs a load generator (bench/load.ts <kind>) in its own process; resolves with its JSON result.
 * Lines it prints as "progress <json>" go to onProgress as they come.
 */
export function runLoad<T>(kind: string, args: Record<string, unknown>, onProgress?: (json: string) => void | Promise<void>): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, ['--max-old-space-size=4096', path.join(ROOT, 'bench/load.ts'), kind, JSON.stringify(args)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    }));
    let pending = '';
    let last = '';
    const callbacks: Promise<void>[] = [];
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.startsWith('progress ')) {
          if (onProgress) callbacks.push(Promise.resolve(onProgress(line.slice('progress '.length))));
        } else if (line.trim()) {
          last = line;
        }
      }
    });
    child.once('exit', async (code) => {
      await Promise.all(callbacks);
      if (code !== 0) return reject(new Error(`load ${kind} exited with ${code}: ${last.slice(-2000)}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch (error) {
        reject(new Error(`load ${kind} printed no result: ${last.slice(-2000)} (${String(error)})`));
      }
    });
  });
}

function nodeFlagsOfStart(): string[] {
  const start = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const match = /^node ((?:--\S+ )*)src\/switchyard\.js /.exec(start);
  if (!match) throw new Error(`package.json's start script is not "node [--flags] src/switchyard.js ...": ${start}`);
  return match[1]!.split(' ').filter(Boolean);
}
