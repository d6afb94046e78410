// Reads deploy/haproxy.cfg far enough to answer which backend a request path goes to and which
// hosts serve a backend. Anything in a routing rule it does not understand throws, so a rule
// it would misread fails the test instead of passing it.

export interface HaproxySection { kind: string; name: string; lines: string[][] }

export function parseHaproxyConfig(text: string): HaproxySection[] {
  const sections: HaproxySection[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    const words = line.split(/\s+/);
    if (!/^\s/.test(raw)) sections.push({ kind: words[0]!, name: words[1] ?? '', lines: [] });
    else sections.at(-1)?.lines.push(words);
  }
  return sections;
}

export function section(config: HaproxySection[], kind: string, name?: string): HaproxySection {
  const found = config.filter((s) => s.kind === kind && (name === undefined || s.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''} section, found ${found.length}`);
  return found[0]!;
}

/** The backend a frontend sends `path` to: its use_backend rules in order, then default_backend. */
export function backendFor(frontend: HaproxySection, path: string): string {
  const acls = new Map<string, ((path: string) => boolean)[]>();
  let chosen: string | undefined;
  for (const [keyword, ...args] of frontend.lines) {
    if (keyword === 'acl') {
      const [name, criterion, ...values] = args;
      const test = criterion === 'path' ? (p: string) => values.includes(p)
        : criterion === 'path_beg' ? (p: string) => values.some((v) => p.startsWith(v))
        : undefined;
      if (!name || !test) throw new Error(`acl not understood: ${args.join(' ')}`);
      acls.set(name, [...(acls.get(name) ?? []), test]); // lines of one acl name are ORed
    } else if (keyword === 'use_backend' && chosen === undefined) {
      const [backend, when, ...condition] = args;
      if (when !== 'if' || condition.length === 0) throw new Error(`use_backend not understood: ${args.join(' ')}`);
      if (conditionHolds(condition, acls, path)) chosen = backend;
    } else if (keyword === 'default_backend') {
      chosen ??= args[0];
    }
  }
  if (chosen === undefined) throw new Error(`no backend for ${path}`);
  return chosen;
}

/** `a b || !c`: terms are ANDed, groups between || are ORed. */
function conditionHolds(condition: string[], acls: Map<string, ((path: string) => boolean)[]>, path: string): boolean {
  const groups: string[][] = [[]];
  for (const word of condition) {
    if (word === '||' || word === 'or') groups.push([]);
    else groups.at(-1)!.push(word);
  }
  return groups.some((terms) => terms.every((term) => {
    const name = term.replace(/^!/, '');
    const tests = acls.get(name);
    if (!tests) throw new Error(`unknown acl ${name}`);
    return tests.some((t) => t(path)) !== term.startsWith('!');
  }));
}

/** The hosts and ports of a backend's server and server-template lines. */
export function backendServers(backend: HaproxySection): { host: string; port: string }[] {
  return backend.lines.flatMap(([keyword, ...args]) => {
    const address = keyword === 'server' ? args[1] : keyword === 'server-template' ? args[2] : undefined;
    if (!address) return [];
    const [host, port] = address.split(':');
    return [{ host: host!, port: port ?? '' }];
  });
}
