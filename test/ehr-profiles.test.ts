/*
 * EHRs as they behave, through the service's front door: trusted clients with the epic, oracle and generic
 * profiles, whose keys come from a key server in its own process that rotates them, as Epic's and Oracle Health's
 * JWKS URLs do. Discovery, cards and feedback are each EHR's; keys rotate with one rate-limited refetch.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type CryptoKey, importJWK, type JWK } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULE_TOPIC_SYSTEM } from '../src/cds/cards';
import { SQLITE_FILE_NAME } from '../src/store/sqlite';
import {
  buildPrefetch,
  everyAnswerValid,
  expectOperationOutcome,
  expectValidCdsResponse,
  expectValidDiscovery,
  hookRequest,
  SERVICE_ID,
  startCrosstalk,
} from './support/harness';
import { type SigningKey, sign } from './support/tokens';

const PUBLIC = 'https://cds.example.org';
const EPIC = 'https://fhir.epic-hospital.example.org/api/FHIR/R4';
const ORACLE = 'https://fhir-ehr.oracle-hospital.example.org/r4/tenant';
const GENERIC = 'https://sandbox-like.example.org';
const SERVICE_AUD = `${PUBLIC}/cds-services/${SERVICE_ID}`;
const COOLDOWN_S = 2;

let keyServer: { url: string; child: ChildProcess };
let ct: Awaited<ReturnType<typeof startCrosstalk>>;
let fhirHost: Awaited<ReturnType<typeof startCrosstalk>>;
const issued: string[] = [];

function startKeyServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'support/jwks-process.ts')], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`key server did not start: ${out}`)), 30_000);
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /jwks listening (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1] as string, child });
      }
    });
    child.stderr?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.once('exit', (code) => reject(new Error(`key server exited ${code}: ${out}`)));
  });
}

const control = async <T>(what: string, method = 'GET'): Promise<T> =>
  (await (await fetch(`${keyServer.url}/control/${what}`, { method })).json()) as T;

/** The key the EHR signs with now (the key server's current private key). */
async function currentKey(): Promise<SigningKey> {
  const jwk = await control<JWK>('current');
  return {
    alg: 'RS384',
    kid: jwk.kid as string,
    privateKey: (await importJWK(jwk, 'RS384')) as CryptoKey,
    publicJwk: {},
  };
}

async function token(iss: string, aud = SERVICE_AUD, o: { kid?: string; extra?: Record<string, unknown> } = {}) {
  const t = await sign({
    iss,
    aud,
    key: await currentKey(),
    jku: `${keyServer.url}/jwks.json`,
    ...(o.kid ? { kid: o.kid } : {}),
    ...(o.extra ? { extra: o.extra } : {}),
  });
  issued.push(t);
  return `Bearer ${t}`;
}

const hits = async () => (await control<{ hits: number }>('hits')).hits;

beforeAll(async () => {
  keyServer = await startKeyServer();
  fhirHost = await startCrosstalk();
  const jwksUrl = `${keyServer.url}/jwks.json`;
  const fhirOrigin = new URL(fhirHost.url).origin;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-ehr-'));
  const clientsFile = path.join(dir, 'clients.json');
  fs.writeFileSync(
    clientsFile,
    JSON.stringify({
      clients: [
        {
          iss: EPIC,
          jwksUrls: [jwksUrl],
          algorithms: ['RS384'],
          sub: 'crosstalk-client',
          profile: 'epic',
          fhirServerOrigins: [fhirOrigin],
        },
        { iss: ORACLE, jwksUrls: [jwksUrl], algorithms: ['RS384'], profile: 'oracle', fhirServerOrigins: [fhirOrigin] },
        { iss: GENERIC, jwksUrls: [jwksUrl], algorithms: ['RS384'], fhirServerOrigins: [fhirOrigin] },
      ],
    }),
  );
  ct = await startCrosstalk({
    CROSSTALK_DEV_MODE: 'false',
    CROSSTALK_EMBEDDED_FHIR: 'false',
    CROSSTALK_AUDIT_HMAC_KEY: 'ehr-profiles-suite-audit-key-0123456789abcdef',
    CROSSTALK_TRUSTED_CLIENTS: clientsFile,
    PUBLIC_BASE_URL: PUBLIC,
    CROSSTALK_INSECURE_FHIR_ORIGINS: fhirOrigin,
    CROSSTALK_INSECURE_JWKS_ORIGINS: keyServer.url,
    CROSSTALK_JWKS_COOLDOWN_S: String(COOLDOWN_S),
    CROSSTALK_REQUEST_BUDGET_MS: '8000',
    CROSSTALK_FHIR_TIMEOUT_MS: '6000',
  });
  await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-steroid');
}, 120_000);

afterAll(async () => {
  await ct?.close();
  await fhirHost?.close();
  keyServer?.child.kill('SIGTERM');
});

const epicSub = { extra: { sub: 'crosstalk-client' } };

describe('discovery for each EHR', () => {
  it('gives Epic every prefetch template, and Oracle Health none on patient-view (it calls without prefetch)', async () => {
    const epic = await request(ct.url)
      .get('/cds-services')
      .set('Authorization', await token(EPIC, `${PUBLIC}/cds-services`, epicSub))
      .expect(200);
    expectValidDiscovery(epic.body);
    const pv = (b: { services: { id: string; prefetch?: object }[] }) => b.services.find((s) => s.id === SERVICE_ID);
    expect(Object.keys(pv(epic.body)?.prefetch ?? {})).toContain('creatinine');
    const oracle = await request(ct.url)
      .get('/cds-services')
      .set('Authorization', await token(ORACLE, `${PUBLIC}/cds-services`))
      .expect(200);
    expectValidDiscovery(oracle.body);
    expect(pv(oracle.body)).not.toHaveProperty('prefetch');
    expect(oracle.body.services).toHaveLength(epic.body.services.length);
  });
});

describe('cards for each EHR', () => {
  it('for Epic: source.topic per rule, selectionBehavior any and one action per suggestion', async () => {
    const prefetch = await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-steroid');
    const res = await request(ct.url)
      .post(`/cds-services/${SERVICE_ID}`)
      .set('Authorization', await token(EPIC, SERVICE_AUD, epicSub))
      .send(hookRequest('demo-steroid', { prefetch }))
      .expect(everyAnswerValid)
      .expect(200);
    expectValidCdsResponse(res.body);
    const cards = res.body.cards as {
      source: { topic: { system: string; code: string } };
      suggestions?: { actions: unknown[] }[];
      selectionBehavior?: string;
      extension: { crosstalk: { ruleId: string } };
    }[];
    expect(cards.map((c) => c.extension.crosstalk.ruleId)).toContain('glucocorticoid-bone');
    for (const c of cards) {
      expect(c.source.topic).toMatchObject({ system: RULE_TOPIC_SYSTEM, code: c.extension.crosstalk.ruleId });
      if (c.suggestions) {
        expect(c.selectionBehavior).toBe('any');
        expect(c.suggestions.every((s) => s.actions.length === 1)).toBe(true);
      }
    }
  });

  it('for Oracle Health: read from fhirServer without prefetch, and the app link carries no appContext', async () => {
    const res = await request(ct.url)
      .post(`/cds-services/${SERVICE_ID}`)
      .set('Authorization', await token(ORACLE))
      .send(
        hookRequest('demo-low-ccr', {
          fhirServer: `${fhirHost.url}/fhir`,
          fhirAuthorization: {
            access_token: 'oracle-fhir-token-XYZ',
            token_type: 'Bearer',
            expires_in: 300,
            scope: 'patient/Observation.read',
            subject: 'crosstalk',
          },
        }),
      )
      .expect(everyAnswerValid)
      .expect(200);
    expectValidCdsResponse(res.body);
    expect(res.body.cards.length).toBeGreaterThan(0);
    for (const c of res.body.cards as { links?: { type: string; appContext?: string }[] }[]) {
      const smart = c.links?.find((l) => l.type === 'smart');
      expect(smart).toBeDefined();
      expect(smart).not.toHaveProperty('appContext');
    }
  });
});

describe('feedback from Epic', () => {
  it('is taken with overrideReasons (plural), and every reason is stored', async () => {
    const prefetch = await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-low-ccr');
    const call = await request(ct.url)
      .post(`/cds-services/${SERVICE_ID}`)
      .set('Authorization', await token(EPIC, SERVICE_AUD, epicSub))
      .send(hookRequest('demo-low-ccr', { prefetch }))
      .expect(200);
    const card = call.body.cards[0].uuid as string;
    const res = await request(ct.url)
      .post(`/cds-services/${SERVICE_ID}/feedback`)
      .set('content-type', 'application/json')
      .set('Authorization', await token(EPIC, `${SERVICE_AUD}/feedback`, epicSub))
      .send({
        feedback: [
          {
            card,
            outcome: 'overridden',
            overrideReasons: [
              { reason: { system: 'urn:crosstalk:codesystem:override-reason', code: 'patient-declined' } },
              { reason: { system: 'urn:epic:override', code: '12', display: 'Discussed with patient' } },
            ],
            outcomeTimestamp: new Date().toISOString(),
          },
        ],
      });
    expect(res.status).toBe(200);
    const db = new Database(path.join(ct.dataDir, SQLITE_FILE_NAME), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT override_code, override_reasons FROM feedback WHERE card_uuid = ?').get(card) as {
        override_code: string;
        override_reasons: string;
      };
      expect(row.override_code).toBe('patient-declined');
      expect(JSON.parse(row.override_reasons).map((r: { code: string }) => r.code)).toEqual(['patient-declined', '12']);
    } finally {
      db.close();
    }
  });
});

describe('keys from a JWKS URL that rotates', () => {
  it('accepts a token signed with a new key after one refetch, and refuses a stranger kid without refetching', async () => {
    // Past the cooldown of the fetches above, so the rotation's refetch is allowed.
    await new Promise((r) => setTimeout(r, COOLDOWN_S * 1000 + 100));
    const before = await hits();
    await control('rotate', 'POST');
    await request(ct.url)
      .get('/cds-services')
      .set('Authorization', await token(EPIC, `${PUBLIC}/cds-services`, epicSub))
      .expect(200);
    expect((await hits()) - before).toBe(1);
    // Within the cooldown, unknown kids fail cleanly and fetch nothing.
    for (let i = 0; i < 5; i++) {
      const res = await request(ct.url)
        .get('/cds-services')
        .set('Authorization', await token(EPIC, `${PUBLIC}/cds-services`, { ...epicSub, kid: `unknown-${i}` }))
        .expect(401);
      expectOperationOutcome(res.body);
      expect(res.body.issue[0].details.text).toBe('Authentication failed.');
    }
    expect((await hits()) - before).toBe(1);
  });

  it('refetches for one client without spending another client’s allowance', async () => {
    await new Promise((r) => setTimeout(r, COOLDOWN_S * 1000 + 100));
    await control('rotate', 'POST');
    const before = await hits();
    // Epic's cache is past its cooldown and refetches; Oracle's own cache of the same URL refetches once too.
    await request(ct.url)
      .get('/cds-services')
      .set('Authorization', await token(EPIC, `${PUBLIC}/cds-services`, epicSub))
      .expect(200);
    await request(ct.url)
      .get('/cds-services')
      .set('Authorization', await token(ORACLE, `${PUBLIC}/cds-services`))
      .expect(200);
    expect((await hits()) - before).toBe(2);
  });

  it('logs why a token failed, never a token', () => {
    const text = ct.logs.text;
    expect(text).toMatch(/"event":"auth-failed"/);
    for (const t of issued) expect(text).not.toContain(t.split('.')[2]);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(text).not.toContain('oracle-fhir-token-XYZ');
  });
});
