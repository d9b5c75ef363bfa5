import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where webhooks may be sent. A subscriber chooses the URL, so without this any key holding
 * `webhooks:manage` could make the dispatcher call the internal network (cloud metadata at
 * 169.254.169.254, RabbitMQ's management API, PostgreSQL) and read the answers back from the
 * delivery log (OWASP API7:2023, server-side request forgery).
 *
 * Public unicast addresses only. Loopback is allowed outside production (local receivers in
 * development and tests); networks an operator deliberately trusts (an ERP in the same private
 * network) are named in `allowedNetworks` (CIDR).
 */
export interface WebhookTargetPolicy {
  allowLoopback: boolean;
  allowedNetworks: readonly string[];
}

export class WebhookTargetRefused extends Error {
  override readonly name = 'WebhookTargetRefused';
}

/** Resolves a host name to every address it has (as `dns.lookup(host, { all: true })`). */
export type HostResolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: HostResolver = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));

/** Production: public addresses only; elsewhere loopback too. `WEBHOOK_ALLOWED_NETWORKS`: comma-separated CIDRs to trust in addition. */
export function webhookTargetPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookTargetPolicy {
  const production = env.NODE_ENV === 'production';
  const allowedNetworks = (env.WEBHOOK_ALLOWED_NETWORKS ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const network of allowedNetworks) {
    if (!ipaddr.isValidCIDR(network)) throw new Error(`WEBHOOK_ALLOWED_NETWORKS: "${network}" is not a CIDR (e.g. 10.20.0.0/16)`);
  }
  return { allowLoopback: !production, allowedNetworks };
}

/** Single-label names and the suffixes reserved for private use never denote a public receiver. */
const INTERNAL_SUFFIXES = ['.localhost', '.local', '.internal', '.intranet', '.lan', '.home.arpa', '.corp', '.private', '.localdomain'];

export function isInternalHostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost') return false; // loopback by name: judged like 127.0.0.1
  if (!name.includes('.')) return true;
  return INTERNAL_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

function inAllowedNetwork(address: ipaddr.IPv4 | ipaddr.IPv6, networks: readonly string[]): boolean {
  return networks.some((cidr) => {
    const [network, bits] = ipaddr.parseCIDR(cidr);
    return network.kind() === address.kind() && address.match(network, bits);
  });
}

/**
 * Whether the dispatcher may connect to this IP address. IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is
 * judged as the IPv4 address it maps; every other range but public unicast is refused (private,
 * carrier-grade NAT, link-local, unique-local, multicast, NAT64 and 6to4/Teredo embeddings, reserved).
 */
export function isAllowedAddress(address: string, policy: WebhookTargetPolicy): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  if (inAllowedNetwork(parsed, policy.allowedNetworks)) return true;
  const range = parsed.range();
  if (range === 'unicast') return true;
  return range === 'loopback' && policy.allowLoopback;
}

function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = bareHost(hostname).toLowerCase();
  if (host === 'localhost') return true;
  return ipaddr.isValid(host) && ipaddr.process(host).range() === 'loopback';
}

const REFUSED = 'url must point to a public internet address';

/** The checks that need no network: an IP literal is judged at once, internal names are refused. */
export function checkTargetHostSync(hostname: string, policy: WebhookTargetPolicy): void {
  const host = bareHost(hostname);
  if (isIP(host) !== 0) {
    if (!isAllowedAddress(host, policy)) throw new WebhookTargetRefused(REFUSED);
    return;
  }
  if (host.toLowerCase() === 'localhost') {
    if (!policy.allowLoopback) throw new WebhookTargetRefused(REFUSED);
    return;
  }
  if (isInternalHostName(host)) throw new WebhookTargetRefused(REFUSED);
}

/**
 * Resolves the host and returns the addresses the dispatcher may connect to; refuses when any of
 * them is not allowed (a name with one public and one internal address is refused as a whole).
 */
export async function resolveAllowedAddresses(hostname: string, policy: WebhookTargetPolicy, resolver: HostResolver): Promise<LookupAddress[]> {
  checkTargetHostSync(hostname, policy);
  const host = bareHost(hostname);
  if (isIP(host) !== 0) return [{ address: host, family: isIP(host) }];
  let addresses: LookupAddress[];
  try {
    addresses = await resolver(host.toLowerCase() === 'localhost' ? 'localhost' : host);
  } catch {
    throw new WebhookTargetRefused('url host does not resolve');
  }
  if (addresses.length === 0) throw new WebhookTargetRefused('url host does not resolve');
  if (!addresses.every((a) => isAllowedAddress(a.address, policy))) throw new WebhookTargetRefused(REFUSED);
  return addresses;
}
