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
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '0.0.0.0', '100.64.0.1']) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });
});
