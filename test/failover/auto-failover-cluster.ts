// A pg_auto_failover formation on this machine: a monitor, a primary and a synchronous standby,
// each run by its own `pg_autoctl run` in a temporary folder the postgres user owns (as root,
// PostgreSQL and pg_autoctl run as that user). Debian's packages: postgresql-15 and
// postgresql-15-auto-failover.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findPostgresBin, freePort, postgresFolder, postgresUser } from '../helpers/local-postgres.ts';

const run = promisify(execFile);
const AUTOCTL = '/usr/bin/pg_autoctl';

/**
 * The monitor's health checks, tightened from their defaults (5 s period, 20 s before a node is
 * unhealthy, 30 s for the old primary to demote itself) so that one run takes seconds: with a
 * dead primary the new one is writable after about primary_demote_timeout. Split brain stays
 * impossible for committed data: the old primary, were it alive, could commit nothing without
 * its synchronous standby.
 */
const MONITOR_SETTINGS: Record<string, number> = {
  'pgautofailover.health_check_period': 1_000,
  'pgautofailover.health_check_timeout': 1_000,
  'pgautofailover.health_check_max_retries': 1,
  'pgautofailover.health_check_retry_delay': 500,
  'pgautofailover.node_considered_unhealthy_timeout': 2_000,
  'pgautofailover.primary_demote_timeout': 5_000,
};

export interface Node {
  name: string;
  port: number;
  dataDir: string;
}

/** What this machine lacks to run the formation, or the binaries it has. */
export function failoverPrerequisites(): { bin: string } | { reason: string } {
  if (!existsSync(AUTOCTL)) return { reason: `no ${AUTOCTL}: install postgresql-15-auto-failover (apt-get install postgresql-15-auto-failover, as root)` };
  const found = findPostgresBin();
  if ('reason' in found) return found;
  if (!existsSync(path.join(found.bin, 'pg_controldata'))) return { reason: `no pg_controldata in ${found.bin}` };
  return { bin: found.bin };
}

export class AutoFailoverCluster {
  readonly nodes: Node[] = [];
  monitorPort = 0;
  readonly #bin: string;
  readonly #base: string;
  readonly #keepers: ChildProcess[] = [];
  #user: { uid: number; gid: number } | undefined; // as root: the postgres user

  private constructor(bin: string, base: string) {
    this.#bin = bin;
    this.#base = base;
  }

  /** The formation, ready: a primary and a synchronous secondary, database `switchyard`. */
  static async start(bin: string, log: (line: string) => void): Promise<AutoFailoverCluster> {
    const cluster = new AutoFailoverCluster(bin, await postgresFolder('switchyard-failover-'));
    try {
      cluster.#user = await postgresUser();
      cluster.monitorPort = await freePort();
      await cluster.#autoctl(['create', 'monitor', '--pgdata', cluster.#dir('monitor'), '--pgport', String(cluster.monitorPort),
        '--hostname', '127.0.0.1', '--auth', 'trust', '--no-ssl']);
      cluster.#keep('monitor');
      await cluster.#waitFor(`monitor on ${cluster.monitorPort}`, () => cluster.#query(cluster.monitorPort, 'pg_auto_failover', 'select 1'));
      for (const [name, value] of Object.entries(MONITOR_SETTINGS)) {
        await cluster.#query(cluster.monitorPort, 'pg_auto_failover', `alter system set ${name} = ${value}`);
      }
      await cluster.#query(cluster.monitorPort, 'pg_auto_failover', 'select pg_reload_conf()');
      const monitor = `postgres://autoctl_node@127.0.0.1:${cluster.monitorPort}/pg_auto_failover?sslmode=disable`;
      for (const name of ['node1', 'node2']) {
        const node = { name, port: await freePort(), dataDir: cluster.#dir(name) };
        await cluster.#autoctl(['create', 'postgres', '--pgdata', node.dataDir, '--pgport', String(node.port), '--hostname', '127.0.0.1',
          '--listen', '127.0.0.1', '--auth', 'trust', '--no-ssl', '--dbname', 'switchyard', '--monitor', monitor]);
        cluster.#keep(name);
        cluster.nodes.push(node);
        log(`${name} created on port ${node.port}`);
      }
      await cluster.#waitFor('a primary and a synchronous secondary', async () => {
        const roles = await Promise.all(cluster.nodes.map((n) => cluster.#query(n.port, 'switchyard', 'select pg_is_in_recovery() as r').then((rows) => rows[0]!.r)));
        if (!roles.includes(true) || !roles.includes(false)) throw new Error(`roles ${roles}`);
        const primary = cluster.nodes[roles.indexOf(false)]!;
        const [sync] = await cluster.#query(primary.port, 'postgres', `select count(*)::int as n from pg_stat_replication where sync_state in ('sync', 'quorum')`);
        if (sync!.n !== 1) throw new Error('no synchronous standby yet');
      }, 120_000);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** libpq's multi-host form over both nodes, as an application would be configured. */
  url(): string {
    return `postgres://postgres@${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}/switchyard?target_session_attrs=read-write`;
  }

  async primary(): Promise<Node | undefined> {
    for (const node of this.nodes) {
      const rows = await this.#query(node.port, 'switchyard', `select pg_is_in_recovery() or current_setting('transaction_read_only') = 'on' as r`).catch(() => undefined);
      if (rows?.[0]?.r === false) return node;
    }
    return undefined;
  }

  /**
   * Kills a node as a crashed machine would: its pg_autoctl keeper first (it would restart
   * PostgreSQL at once, and no failover would happen), then `pg_ctl stop -m immediate`.
   */
  async kill(node: Node): Promise<void> {
    const keeper = this.#keepers[this.nodes.indexOf(node) + 1]!;
    for (const pid of await keeperProcesses(keeper.pid!)) process.kill(pid, 'SIGKILL');
    await this.#as(path.join(this.#bin, 'pg_ctl'), ['-D', node.dataDir, '-m', 'immediate', '-w', 'stop']);
  }

  async query(node: Node, text: string, values: unknown[] = []): Promise<any[]> {
    return this.#query(node.port, 'switchyard', text, values);
  }

  async stop(): Promise<void> {
    for (const keeper of this.#keepers.reverse()) {
      try {
        process.kill(-keeper.pid!, 'SIGTERM'); // the keeper's group: pg_autoctl stops its PostgreSQL
      } catch { /* already gone */ }
    }
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    for (const keeper of this.#keepers) {
      try {
        process.kill(-keeper.pid!, 'SIGKILL');
      } catch { /* gone, as it should be */ }
    }
    for (const node of this.nodes) await this.#as(path.join(this.#bin, 'pg_ctl'), ['-D', node.dataDir, '-m', 'immediate', 'stop']).catch(() => undefined);
    await rm(this.#base, { recursive: true, force: true });
  }

  #dir(name: string): string {
    return path.join(this.#base, name);
  }

  #env(): NodeJS.ProcessEnv {
    // pg_autoctl keeps its state under XDG folders: inside the run's folder, not the postgres user's home.
    return { ...process.env, PATH: `${this.#bin}:${process.env.PATH}`, XDG_CONFIG_HOME: this.#dir('config'), XDG_DATA_HOME: this.#dir('data'), LC_ALL: 'C' };
  }

  async #as(file: string, args: string[]): Promise<string> {
    const { stdout } = await run(file, args, { ...(this.#user ?? {}), cwd: this.#base, env: this.#env() });
    return stdout;
  }

  async #autoctl(args: string[]): Promise<void> {
    await this.#as(AUTOCTL, args);
  }

  /** `pg_autoctl run` in a process group of its own, logging into the run's folder. */
  #keep(name: string): void {
    const logFile = path.join(this.#base, `${name}.log`);
    const keeper = spawn('sh', ['-c', `exec ${AUTOCTL} run --pgdata ${this.#dir(name)} >> ${logFile} 2>&1`], {
      detached: true, stdio: 'ignore', env: this.#env(), cwd: this.#base, ...(this.#user ?? {}),
    });
    keeper.unref();
    this.#keepers.push(keeper);
  }

  async #query(port: number, database: string, text: string, values: unknown[] = []): Promise<any[]> {
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/${database}`, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.query(text, values)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async #waitFor(what: string, check: () => Promise<unknown>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await check();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }
}

/** The pg_autoctl processes of a keeper's process group (not its PostgreSQL), read from /proc: no procps needed. */
async function keeperProcesses(group: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its closing parenthesis.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (pgrp === group && comm.startsWith('pg_autoctl')) pids.push(Number(entry));
  }
  return pids;
}
