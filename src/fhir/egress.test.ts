import { describe, expect, it } from 'vitest';
import { EgressPolicy, isPublicAddress } from './egress';

describe('egress policy', () => {
  const policy = new EgressPolicy(() => [
    { origin: 'https://fhir.example.org', insecure: false },
    { origin: 'https://10.1.2.3', insecure: false },
    { origin: 'http://127.0.0.1:*', insecure: true },
  ]);

  it('allows an allow-listed https origin', () => {
    expect(policy.check(new URL('https://fhir.example.org/r4/Patient/1')).origin).toBe('https://fhir.example.org');
  });

  it('refuses origins that are not allow-listed, http, and private addresses even when listed', () => {
    expect(() => policy.check(new URL('https://fhir.example.org.evil.com/'))).toThrow(/not allow-listed/);
    expect(() => policy.check(new URL('http://fhir.example.org/'))).toThrow(/not allow-listed/);
    expect(() => policy.check(new URL('https://10.1.2.3/fhir'))).toThrow(/non-public/);
  });

  it('lets development origins use any port on loopback over http', () => {
    expect(policy.check(new URL('http://127.0.0.1:4567/fhir')).insecure).toBe(true);
    expect(() => policy.check(new URL('http://127.0.0.2:4567/fhir'))).toThrow();
  });

  it('knows public from private, loopback, link-local, mapped and metadata addresses', () => {
    expect(isPublicAddress('93.184.216.34')).toBe(true);
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
      '100.64.0.1',
    ]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });

  // Each carries 127.0.0.1, 10.0.0.7 or 169.254.169.254 inside an IPv6 address a socket can be asked to reach.
  const disguised: [string, string][] = [
    ['IPv4-compatible loopback', '::7f00:1'],
    ['IPv4-compatible metadata', '::a9fe:a9fe'],
    ['IPv4-mapped private', '::ffff:a00:7'],
    ['IPv4-mapped metadata', '::ffff:a9fe:a9fe'],
    ['NAT64 loopback', '64:ff9b::7f00:1'],
    ['NAT64 metadata', '64:ff9b::a9fe:a9fe'],
    ['NAT64 local-use prefix', '64:ff9b:1::a00:7'],
    ['6to4 loopback', '2002:7f00:1::'],
    ['6to4 private', '2002:a00:7::1'],
    ['6to4 metadata', '2002:a9fe:a9fe::1'],
    ['Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
  ];
  for (const [name, address] of disguised) {
    it(`refuses the ${name} form ${address}, as an address and as a URL, before connecting`, () => {
      expect(isPublicAddress(address)).toBe(false);
      const open = new EgressPolicy(() => [{ origin: `https://[${address}]`, insecure: false }]);
      expect(() => open.check(new URL(`https://[${address}]/fhir`))).toThrow(/non-public/);
    });
  }

  it('still lets IPv6 forms of public IPv4 addresses through (NAT64 on an IPv6-only network)', () => {
    for (const a of ['64:ff9b::5db8:d822', '::ffff:5db8:d822', '2002:5db8:d822::1', '2606:4700:4700::1111'])
      expect(isPublicAddress(a), a).toBe(true);
  });
});
