import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildCrosstalk, spawnCrosstalk } from './support/child';
import { makeKey, type SigningKey, sign } from './support/tokens';

/*
 * `crosstalk registration` as hospital IT runs it: the CLI in a process of its own, and for `--check` a Crosstalk
 * in production mode in another, whose discovery answers only a trusted client's JWT and in that client's EHR
 * profile. What the CLI prints is compared with what the service serves, never with a copy written here.
 */

const bin = path.resolve(__dirname, '../bin/crosstalk.js');
const PUBLIC = 'https://crosstalk.example.org';
const EPIC_ISS = 'https://fhir.hospital.example.org/api/FHIR/R4';
// Each CLI run compiles TypeScript on start: slow on a loaded machine.
const CLI_MS = 60_000;

type Run = { code: number; stdout: string; stderr: string };
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, 'registration', ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: CLI_MS },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let ct: ChildCrosstalk;
let key: SigningKey;
let dir: string;

beforeAll(async () => {
  key = await makeKey('RS384');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-registration-'));
  const clients = path.join(dir, 'clients.json');
  fs.writeFileSync(
    clients,
    JSON.stringify({
      clients: [
        {
          iss: EPIC_ISS,
          jwks: { keys: [key.publicJwk] },
          algorithms: ['RS384'],
          fhirServerOrigins: [],
          profile: 'epic',
        },
      ],
    }),
  );
  ct = await spawnCrosstalk(
    {
      CROSSTALK_DEV_MODE: 'false',
      CROSSTALK_EMBEDDED_FHIR: 'false',
      CROSSTALK_DATA_DIR: dir,
      CROSSTALK_AUDIT_HMAC_KEY: 'registration-suite-audit-key-0123456789abcdef',
      CROSSTALK_TRUSTED_CLIENTS: clients,
      PUBLIC_BASE_URL: PUBLIC,
    },
    120_000,
  );
}, 180_000);

afterAll(async () => {
  ct?.child.kill('SIGTERM');
  await ct?.exited;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const discoveryToken = () => sign({ iss: EPIC_ISS, aud: `${PUBLIC}/cds-services`, key });

describe('crosstalk registration --ehr', () => {
  it(
    'prints, for Epic, every hook with its service URL, feedback URL, prefetch and RS384 keys',
    async () => {
      const r = await cli(['--ehr', 'epic', '--base-url', PUBLIC, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const reg = JSON.parse(r.stdout);
      expect(reg.discoveryUrl).toBe(`${PUBLIC}/cds-services`);
      expect(reg.services.map((s: { hook: string }) => s.hook).sort()).toEqual(
        ['order-select', 'order-sign', 'patient-view'].sort(),
      );
      for (const s of reg.services) {
        expect(s.url).toBe(`${PUBLIC}/cds-services/${s.id}`);
        expect(s.feedbackUrl).toBe(`${s.url}/feedback`);
        expect(Object.keys(s.prefetch).length).toBeGreaterThan(0);
        expect(s.fhirScopes.every((x: string) => /^patient\/[A-Z][A-Za-z]+\.read$/.test(x))).toBe(true);
      }
      expect(reg.keys).toMatch(/RS384/);
      expect(reg.trustedClient).toMatchObject({ profile: 'epic', algorithms: ['RS384'] });
      const text = await cli(['--ehr', 'epic', '--base-url', PUBLIC]);
      for (const s of reg.services) expect(text.stdout).toContain(`Service URL:  ${s.url}`);
    },
    CLI_MS,
  );

  it(
    'prints, for Oracle Health, patient-view only, with no prefetch and the scopes to read it all',
    async () => {
      const reg = JSON.parse((await cli(['--ehr', 'oracle', '--base-url', PUBLIC, '--json'])).stdout);
      expect(reg.services.map((s: { hook: string }) => s.hook)).toEqual(['patient-view']);
      expect(reg.services[0].prefetch).toEqual({});
      expect(reg.services[0].fhirScopes).toEqual(expect.arrayContaining(['patient/Observation.read']));
      expect(reg.smartApp.appContext).toBe(false);
    },
    CLI_MS,
  );

  it(
    'refuses an unknown EHR or a base URL with a trailing slash with one line and exit 1, no stack trace',
    async () => {
      for (const args of [
        ['--ehr', 'meditech', '--base-url', PUBLIC],
        ['--ehr', 'epic', '--base-url', `${PUBLIC}/`],
      ]) {
        const r = await cli(args);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/^crosstalk: --(ehr|base-url): /);
      }
    },
    CLI_MS,
  );
});

describe('crosstalk registration --check against a running service', () => {
  it(
    'finds no drift for the profile the caller is trusted with, exit 0',
    async () => {
      const r = await cli(['--check', ct.url, '--ehr', 'epic'], { CROSSTALK_CHECK_TOKEN: await discoveryToken() });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(
        `No drift: ${ct.url}/cds-services serves what \`crosstalk registration --ehr epic\` prints.\n`,
      );
      expect(r.code).toBe(0);
    },
    CLI_MS,
  );

  it(
    'reports each difference from another profile key by key, exit 1',
    async () => {
      const r = await cli(['--check', `${ct.url}/cds-services`, '--ehr', 'oracle', '--json'], {
        CROSSTALK_CHECK_TOKEN: await discoveryToken(),
      });
      expect(r.code).toBe(1);
      const { drift } = JSON.parse(r.stdout) as { drift: { service: string; field: string }[] };
      // Oracle Health fills no patient-view prefetch: each key Epic's discovery carries is a difference, by name.
      const keys = drift.filter((d) => d.service === 'bone-muscle-patient-view').map((d) => d.field);
      expect(keys).toContain('prefetch.creatinine');
      expect(keys.every((f) => f.startsWith('prefetch.'))).toBe(true);
      expect(drift.filter((d) => d.service !== 'bone-muscle-patient-view')).toEqual([]);
      const text = await cli(['--check', ct.url, '--ehr', 'oracle'], { CROSSTALK_CHECK_TOKEN: await discoveryToken() });
      expect(text.stdout).toContain(`in ${drift.length} place(s)`);
      expect(text.stdout).toMatch(
        /bone-muscle-patient-view prefetch\.creatinine: registered \(absent\), served "Observation\?/,
      );
    },
    CLI_MS,
  );

  it(
    'says how to authenticate when the service answers 401, and never prints the token',
    async () => {
      const none = await cli(['--check', ct.url, '--ehr', 'epic']);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/answered HTTP 401 \(set CROSSTALK_CHECK_TOKEN/);
      const wrongAud = await sign({ iss: EPIC_ISS, aud: `${PUBLIC}/elsewhere`, key });
      const bad = await cli(['--check', ct.url, '--ehr', 'epic'], { CROSSTALK_CHECK_TOKEN: wrongAud });
      expect(bad.code).toBe(1);
      expect(bad.stderr + bad.stdout).not.toContain(wrongAud);
    },
    CLI_MS,
  );
});
