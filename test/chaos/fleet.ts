// A fleet of Switchyard processes on one database, each running some roles, for the fault suite
// and the many-process test: members can be killed (SIGKILL: no shutdown at all) and restarted,
// and the load always finds the routers and push processes that are alive now.
import { startService, type RunningService } from '../../bench/lib/processes.ts';

export interface Member {
  readonly roles: string;
  readonly name: string;
  /** The live process, or undefined while it is down. */
  service: RunningService | undefined;
}

export class Fleet {
  readonly members: Member[] = [];
  readonly #databaseUrl: string;
  readonly #env: Record<string, string>;

  constructor(databaseUrl: string, env: Record<string, string> = {}) {
    this.#databaseUrl = databaseUrl;
    this.#env = env;
  }

  /** Starts `count` processes with these roles (in parallel). */
  async add(roles: string, count = 1): Promise<Member[]> {
    const added = Array.from({ length: count }, (_, i) => ({ roles, name: `${roles}#${this.members.filter((m) => m.roles === roles).length + i}`, service: undefined }));
    this.members.push(...added);
    await Promise.all(added.map((member) => this.restart(member)));
    return added;
  }

  async restart(member: Member): Promise<void> {
    member.service = await startService(this.#databaseUrl, member.roles, { SWITCHYARD_STAGE_POLL_MS: '250', SWITCHYARD_INBOX_POLL_MS: '250', ...this.#env });
  }

  async kill(member: Member, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const service = member.service;
    member.service = undefined;
    await service?.kill(signal);
  }

  /** Base URLs of the live members with this role. */
  urls(role: string): string[] {
    return this.members.filter((m) => m.service && m.roles.split(',').includes(role)).map((m) => m.service!.url);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((member) => member.service?.stop()));
  }
}
