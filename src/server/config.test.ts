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
