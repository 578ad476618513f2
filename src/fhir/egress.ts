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

export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.range() === 'unicast';
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
      if (bad || !list.length) return (callback as (e: Error) => void)(new EgressRefused('host resolves to a non-public address'));
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

  /** A fresh agent per call: insecure rules connect anywhere, others only to public addresses. */
  agent(url: URL, rule: OriginRule): http.Agent {
    const opts = { keepAlive: false, ...(rule.insecure ? {} : { lookup: guardedLookup() }) };
    return url.protocol === 'https:' ? new https.Agent(opts) : new http.Agent(opts);
  }
}

/** Parses `a,b,c` configuration lists of origins. */
export function parseOrigins(list: string | undefined): string[] {
  return (list ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}
