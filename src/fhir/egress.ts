import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which FHIR servers a CDS call may reach with the EHR's token. An origin must be allow-listed;
 * it must be https and resolve to public addresses unless the rule explicitly allows otherwise
 * (development). The address check runs inside the socket's DNS lookup, so a name that
 * re-resolves to a private address between check and connect (DNS rebinding) is still refused.
 */
export interface OriginRule {
  /** `https://fhir.example.org`, or for development `http://127.0.0.1:*` (any port). */
  origin: string;
  /** Allows http and loopback/private/link-local addresses: development only. */
  insecure: boolean;
}

export class EgressRefused extends Error {
  constructor(readonly why: string) {
    super(`egress refused: ${why}`);
    this.name = 'EgressRefused';
  }
}

/** Names that reach cloud metadata services even when DNS says otherwise. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata', 'instance-data', 'metadata.azure.internal']);

/**
 * The IPv4 address an IPv6 address carries and is routed to, for the forms that carry one: IPv4-compatible
 * (::/96), IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16, RFC 3056).
 */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  const zeros = (from: number, to: number) => p.slice(from, to).every((x) => x === 0);
  if (zeros(0, 6)) return v4(p[6] as number, p[7] as number);
  if (zeros(0, 5) && p[5] === 0xffff) return v4(p[6] as number, p[7] as number);
  if (p[0] === 0x64 && p[1] === 0xff9b && zeros(2, 6)) return v4(p[6] as number, p[7] as number);
  if (p[0] === 0x2002) return v4(p[1] as number, p[2] as number);
  return undefined;
}

export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv4') return ip.range() === 'unicast';
  const v6 = ip as ipaddr.IPv6;
  // Teredo (2001::/32) tunnels through relays to an address it hides (XOR-ed): nothing to judge, so never.
  if (v6.range() === 'teredo') return false;
  // ::/128 and ::1 carry no IPv4 address; every other form that does is judged by the IPv4 address it reaches.
  if (v6.range() === 'unspecified' || v6.range() === 'loopback') return false;
  const v4 = embeddedIPv4(v6);
  if (v4) return v4.range() === 'unicast';
  return v6.range() === 'unicast';
}

function matches(rule: OriginRule, url: URL): boolean {
  const star = rule.origin.match(/^(https?:\/\/[^/:]+):\*$/);
  if (star) return `${url.protocol}//${url.hostname}` === star[1];
  try {
    return new URL(rule.origin).origin === url.origin;
  } catch {
    return false;
  }
}

function guardedLookup(): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return (callback as (e: Error) => void)(err);
      const list = addresses as unknown as dns.LookupAddress[];
      const bad = list.find((a) => !isPublicAddress(a.address));
      if (bad || !list.length)
        return (callback as (e: Error) => void)(new EgressRefused('host resolves to a non-public address'));
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0] as dns.LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

export class EgressPolicy {
  constructor(private readonly rules: () => OriginRule[]) {}

  /** Throws EgressRefused unless `url` may be requested; returns the rule that allowed it. */
  check(url: URL): OriginRule {
    const rule = this.rules().find((r) => matches(r, url));
    if (!rule) throw new EgressRefused('origin not allow-listed for this client');
    if (rule.insecure) return rule;
    if (url.protocol !== 'https:') throw new EgressRefused('fhirServer must use https');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (METADATA_HOSTS.has(host.toLowerCase())) throw new EgressRefused('metadata host');
    if (ipaddr.isValid(host) && !isPublicAddress(host)) throw new EgressRefused('non-public address');
    return rule;
  }

  /**
   * The shared keep-alive agent for this kind of rule: reads reuse connections across keys and calls, and
   * every new socket still resolves through the guard (a socket is only pooled after its address passed).
   */
  agent(url: URL, rule: OriginRule): http.Agent {
    return sharedAgent(url.protocol === 'https:', rule.insecure);
  }
}

/**
 * Bounds of the shared agents. One call reads up to 15 keys at once and 10 calls in flight need ~150 sockets
 * to one FHIR server for the reads to run in one round; past 256 a read waits for a socket rather than open
 * more; as many may wait idle, or every busy second would close and reopen the excess. Idle sockets close after 4 s, below Node's and most servers' 5 s keep-alive, so a socket is rarely
 * reused just as the server closes it (and a read that meets one is retried once, on a fresh socket).
 */
const AGENT_OPTIONS = {
  keepAlive: true,
  maxSockets: 256,
  maxTotalSockets: 1024,
  maxFreeSockets: 256,
  timeout: 4_000,
  scheduling: 'lifo',
} as const;

/**
 * At most four agents for the process: guarded and insecure sockets never share a pool, so a socket opened for
 * a development origin (any address) cannot serve a production call (public addresses only). Agents pool by
 * host and port, so one origin's sockets serve only that origin.
 */
const agents = new Map<string, http.Agent>();

function sharedAgent(tls: boolean, insecure: boolean): http.Agent {
  const key = `${tls ? 'https' : 'http'}:${insecure ? 'insecure' : 'guarded'}`;
  let agent = agents.get(key);
  if (!agent) {
    const opts = { ...AGENT_OPTIONS, ...(insecure ? {} : { lookup: guardedLookup() }) };
    agent = tls ? new https.Agent(opts) : new http.Agent(opts);
    agents.set(key, agent);
  }
  return agent;
}

/** Parses `a,b,c` configuration lists of origins. */
export function parseOrigins(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
