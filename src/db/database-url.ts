// DATABASE_URL in libpq's multi-host form, which node-postgres cannot parse:
//   postgres://user:password@h1:5432,h2:5433/db?target_session_attrs=read-write
// It is split here into one ordinary URL per host; the primary picker (primary-picker.ts) chooses
// among them. A single-host URL passes through untouched.

export interface DatabaseHost {
  host: string;
  port: number;
}

export interface DatabaseTarget {
  /** Every host in the order written. */
  hosts: DatabaseHost[];
  /** target_session_attrs=read-write (or primary): only a writable host will do; else the first that answers. */
  readWrite: boolean;
  /** The URL naming only `host` (target_session_attrs removed: node-postgres does not know it). */
  urlFor(host: DatabaseHost): string;
}

const DEFAULT_PORT = 5432;
const URL_PARTS = /^(postgres(?:ql)?:\/\/)(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/;
/** libpq's values: which of them need a writable primary. */
const READ_WRITE_ATTRS = new Set(['read-write', 'primary']);
const KNOWN_ATTRS = new Set(['any', 'read-write', 'primary', 'read-only', 'standby', 'prefer-standby']);

/** Parses a DATABASE_URL, or returns the reason it is not one (for the configuration's error message). */
export function parseDatabaseUrl(url: string): DatabaseTarget | string {
  const parts = URL_PARTS.exec(url);
  if (!parts) return 'expected postgres://user:password@host:port[,host:port...]/database';
  const [, scheme, userInfo, hostList, path = '', query = ''] = parts as unknown as [string, string, string | undefined, string, string | undefined, string | undefined];
  const hosts: DatabaseHost[] = [];
  for (const item of hostList.split(',')) {
    const match = /^(\[[^\]]+\]|[^:[\]]*)(?::(\d+))?$/.exec(item);
    if (!match || (match[1] === '' && hostList !== '')) return `cannot read the host "${item}"`;
    const port = match[2] === undefined ? DEFAULT_PORT : Number(match[2]);
    if (port < 1 || port > 65_535) return `port ${match[2]} is out of range`;
    hosts.push({ host: match[1]!, port });
  }
  const params = new URLSearchParams(query.slice(1));
  const attrs = params.get('target_session_attrs') ?? 'any';
  if (!KNOWN_ATTRS.has(attrs)) return `target_session_attrs=${attrs} is not one of ${[...KNOWN_ATTRS].join(', ')}`;
  if (!READ_WRITE_ATTRS.has(attrs) && attrs !== 'any') return `target_session_attrs=${attrs}: Switchyard writes, so only read-write, primary or any make sense`;
  params.delete('target_session_attrs');
  const rest = params.size > 0 ? `?${params.toString()}` : '';
  const auth = userInfo === undefined ? '' : `${userInfo}@`;
  return {
    hosts,
    readWrite: READ_WRITE_ATTRS.has(attrs),
    urlFor: (host) => `${scheme}${auth}${host.host}${host.host === '' ? '' : `:${host.port}`}${path}${rest}`,
  };
}

/** Whether the service must choose among hosts itself (more than one host, or a read-write demand). */
export function needsPicker(target: DatabaseTarget): boolean {
  return target.hosts.length > 1 || target.readWrite;
}
