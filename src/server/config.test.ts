import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { loadConfig } from './config';

describe('configuration', () => {
  it('has safe defaults: loopback only, no development mode, no embedded FHIR, no CORS, a 3 s FHIR budget inside a 5 s answer budget', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      devMode: false,
      embeddedFhir: false,
      corsOrigins: [],
      fhirTimeoutMs: 3000,
      requestBudgetMs: 5000,
      publicBaseUrl: 'http://localhost:3000',
    });
  });

  it('refuses a FHIR time budget that does not fit in the answer budget', () => {
    expect(() => loadConfig({ CROSSTALK_FHIR_TIMEOUT_MS: '6000' })).toThrow(/CROSSTALK_REQUEST_BUDGET_MS/);
  });

  it('refuses an invalid value and names the key', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ CROSSTALK_EMBEDDED_FHIR: 'yes' })).toThrow(/CROSSTALK_EMBEDDED_FHIR/);
    expect(() => loadConfig({ PUBLIC_BASE_URL: 'https://cds.example.org/' })).toThrow(/PUBLIC_BASE_URL/);
  });
});

describe('development mode beside production settings', () => {
  const dev = { CROSSTALK_DEV_MODE: 'true' };
  it.each([
    ['trusted clients', { CROSSTALK_TRUSTED_CLIENTS: '/etc/crosstalk/clients.json' }, /CROSSTALK_TRUSTED_CLIENTS/],
    ['an audit key', { CROSSTALK_AUDIT_HMAC_KEY: 'k'.repeat(32) }, /CROSSTALK_AUDIT_HMAC_KEY/],
    ['a database on another server', { DATABASE_URL: 'postgres://ct@db.hospital.example:5432/ct' }, /DATABASE_URL/],
    ['NODE_ENV=production', { NODE_ENV: 'production' }, /NODE_ENV=production/],
  ])('refuses to start with %s, naming the setting and the override', (_what, settings, named) => {
    expect(() => loadConfig({ ...dev, ...settings })).toThrow(named);
    expect(() => loadConfig({ ...dev, ...settings })).toThrow(
      /CROSSTALK_DEV_MODE_OVERRIDE=unauthenticated-calls-with-production-settings/,
    );
  });

  it('starts with a database on this machine, which is not a production setting', () => {
    for (const url of [
      'postgres://ct@localhost/ct',
      'postgres://ct@127.0.0.1:5433/ct',
      'postgresql://ct@[::1]/ct',
      'postgres://ct@/ct?host=/var/run/postgresql',
    ])
      expect(loadConfig({ ...dev, DATABASE_URL: url }).devMode).toBe(true);
  });

  it('starts anyway only when the override names the risk, and production mode is unaffected', () => {
    const settings = { CROSSTALK_TRUSTED_CLIENTS: '/etc/crosstalk/clients.json', NODE_ENV: 'production' };
    expect(
      loadConfig({ ...dev, ...settings, CROSSTALK_DEV_MODE_OVERRIDE: 'unauthenticated-calls-with-production-settings' })
        .devMode,
    ).toBe(true);
    expect(() => loadConfig({ ...dev, ...settings, CROSSTALK_DEV_MODE_OVERRIDE: 'yes' })).toThrow(
      /CROSSTALK_DEV_MODE_OVERRIDE/,
    );
    expect(loadConfig(settings).devMode).toBe(false);
  });
});

describe('site clinical knowledge', () => {
  const write = (o: unknown) => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-')), 'site.json');
    fs.writeFileSync(f, JSON.stringify(o));
    return f;
  };

  it('sets a per-sex CCR threshold without copying the whole file', () => {
    const k = loadKnowledgeSync(
      write({
        rules: {
          'low-ccr': {
            threshold: {
              below: { female: 0.62, male: 0.71 },
              provisional: false,
              provenance: 'Site 25th percentile, adults ≥ 50, 2026 lab data',
            },
          },
        },
      }),
    );
    expect(k.rules['low-ccr'].threshold).toMatchObject({ below: { female: 0.62, male: 0.71 }, provisional: false });
    expect(k.rules['low-ccr'].minEgfrCrCys).toBe(60);
  });

  it('refuses an override that breaks the schema, at start-up', () => {
    expect(() => loadKnowledgeSync(write({ rules: { 'low-ccr': { threshold: { below: { female: -1 } } } } }))).toThrow(
      /below\/female/,
    );
    expect(() => loadKnowledgeSync(write({ rules: { 'low-ccr': { summary: 'x'.repeat(140) } } }))).toThrow(/summary/);
  });

  it('refuses a rule that cites an unknown source', () => {
    expect(() => loadKnowledgeSync(write({ rules: { 'homa-context': { citations: ['nobody-2020'] } } }))).toThrow(
      /nobody-2020/,
    );
  });
});
