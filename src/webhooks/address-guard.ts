// Where webhooks may go. By default only public addresses: private, loopback, link-local (and the
// other non-routable) ranges are refused unless the host is in SWITCHYARD_WEBHOOK_ALLOW_HOSTS.
// The check is made on the address the socket connects to: the request's own DNS lookup goes
// through guardedLookup, so a name that resolves to a public address when registered and to
// 127.0.0.1 when delivered (DNS rebinding) is still refused. Plain http is accepted only for
// allow-listed hosts, and connects only to loopback addresses (a receiver on the same machine,
// configured on purpose): nothing leaves the machine unencrypted.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const REFUSED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) REFUSED.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) {
  REFUSED.addSubnet(network, prefix, 'ipv6');
}

export class WebhookAddressError extends Error {}

export class AddressGuard {
  readonly #allowed: Set<string>;

  /** allowHosts: host names or IP addresses (lower case) that may be private or use http. */
  constructor(allowHosts: string[]) {
    this.#allowed = new Set(allowHosts.map((h) => h.toLowerCase().replace(/^\[|\]$/g, '')));
  }

  isAllowListed(host: string): boolean {
    return this.#allowed.has(host.toLowerCase().replace(/^\[|\]$/g, ''));
  }

  /** Throws when a URL may not be registered: its scheme, credentials or a literal address refused. */
  checkUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new WebhookAddressError('not a URL');
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.isAllowListed(host))) {
      throw new WebhookAddressError('must be https (http only for hosts in SWITCHYARD_WEBHOOK_ALLOW_HOSTS)');
    }
    if (url.username || url.password) throw new WebhookAddressError('must not carry credentials');
    if (isIP(host)) this.checkAddress(host, host, url.protocol === 'http:');
    return url;
  }

  /** Throws when `host` may not connect to `address` (over plain http: `plain`). */
  checkAddress(host: string, address: string, plain = false): void {
    const family: 'ipv4' | 'ipv6' = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const mapped = family === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
    const [ip, ipFamily]: [string, 'ipv4' | 'ipv6'] = mapped ? [mapped, 'ipv4'] : [address, family];
    if (plain && !LOOPBACK.check(ip, ipFamily)) {
      throw new WebhookAddressError(`${host} resolves to ${address}: plain http goes to loopback addresses only`);
    }
    if (this.isAllowListed(host) || this.isAllowListed(address)) return;
    if (REFUSED.check(ip, ipFamily)) {
      throw new WebhookAddressError(`${host} resolves to ${address}, a private, loopback or link-local address (SWITCHYARD_WEBHOOK_ALLOW_HOSTS allows it)`);
    }
  }

  /** A lookup for https requests: resolves, refuses what checkAddress refuses, connects to what it checked. */
  readonly lookup: LookupFunction = (hostname, options, callback) => this.#lookup(false, hostname, options, callback);
  /** The same for plain http requests: loopback only. */
  readonly plainLookup: LookupFunction = (hostname, options, callback) => this.#lookup(true, hostname, options, callback);

  #lookup(plain: boolean, ...[hostname, options, callback]: Parameters<LookupFunction>): void {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      try {
        if (addresses.length === 0) throw new WebhookAddressError(`${hostname} has no address`);
        for (const a of addresses) this.checkAddress(hostname, a.address, plain);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }
}
