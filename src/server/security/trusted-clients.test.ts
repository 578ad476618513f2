import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../config/paths';
import { loadTrustedClients } from './trusted-clients';

const write = (o: unknown) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-tc-')), 'clients.json');
  fs.writeFileSync(f, JSON.stringify(o));
  return f;
};

describe('the trusted-clients file', () => {
  it('accepts the documented example', () => {
    const clients = loadTrustedClients(path.join(PROJECT_ROOT, 'deploy/trusted-clients.example.json'));
    expect(clients.map((c) => c.iss)).toHaveLength(2);
  });

  it('refuses symmetric and none algorithms whatever the keys', () => {
    for (const alg of ['HS256', 'none']) {
      expect(() =>
        loadTrustedClients(
          write({ clients: [{ iss: 'x', jwksUrls: ['https://k'], algorithms: [alg], fhirServerOrigins: [] }] }),
        ),
      ).toThrow(/algorithms/);
    }
  });

  it('refuses a client without any key source, or a duplicated issuer', () => {
    expect(() => loadTrustedClients(write({ clients: [{ iss: 'x', fhirServerOrigins: [] }] }))).toThrow(/jwks/);
    const c = { iss: 'x', jwksUrls: ['https://k'], fhirServerOrigins: [] };
    expect(() => loadTrustedClients(write({ clients: [c, c] }))).toThrow(/twice/);
  });

  it('refuses fhirServer origins with a path', () => {
    expect(() =>
      loadTrustedClients(
        write({
          clients: [{ iss: 'x', jwksUrls: ['https://k'], fhirServerOrigins: ['https://ehr.example.org/fhir'] }],
        }),
      ),
    ).toThrow(/fhirServerOrigins/);
  });
});
