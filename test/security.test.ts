import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPrefetch,
  everyAnswerValid,
  expectOperationOutcome,
  expectValidCdsResponse,
  expectValidDiscovery,
  hookRequest,
  SERVICE_ID,
  searchsetOf,
  startCrosstalk,
  startFaultProxy,
  startTcpRecorder,
} from './support/harness';
import { b64url, makeKey, type SigningKey, SPEC_EXAMPLE, sign, startJwksServer } from './support/tokens';

/*
 * A real deployment in miniature: Crosstalk with trusted clients from a file, keys served from a real
 * JWKS endpoint, a public base URL that differs from the listening address (a reverse proxy), and a
 * FHIR server behind a recording proxy so every test can check that nothing reached it.
 */
const PUBLIC = 'https://cds.example.org';
const ISS = 'https://ehr.example.org/fhir';
const INLINE_ISS = 'https://inline.example.org';
const TENANT_ISS = 'https://tenant.example.org';
const MULTI_TENANT_ISS = 'https://multi-tenant.example.org';
const SERVICE_AUD = `${PUBLIC}/cds-services/${SERVICE_ID}`;

let es: SigningKey;
let rs: SigningKey;
let rotated: SigningKey;
let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let attackerJwks: Awaited<ReturnType<typeof startJwksServer>>;
let fhirProxy: Awaited<ReturnType<typeof startFaultProxy>>;
let redirector: Awaited<ReturnType<typeof startFaultProxy>>;
let recorder: Awaited<ReturnType<typeof startTcpRecorder>>;
let hang: Awaited<ReturnType<typeof startFaultProxy>>;
let stuckJwks: http.Server;
let stuckJwksUrl: string;
const STUCK_ISS = 'https://stuck-keys.example.org';
let ct: Awaited<ReturnType<typeof startCrosstalk>>;
/** The EHR's FHIR server: a demo-seeded Crosstalk of its own (production mode never serves the embedded one). */
let fhirHost: Awaited<ReturnType<typeof startCrosstalk>>;
let publishRotated = false;
const issued: string[] = [];

async function token(o: Partial<Parameters<typeof sign>[0]> = {}): Promise<string> {
  const t = await sign({ iss: ISS, aud: SERVICE_AUD, key: es, jku: jwks.url, ...o });
  issued.push(t);
  return t;
}

function call(auth: string | undefined, body: object) {
  const r = request(ct.url).post(`/cds-services/${SERVICE_ID}`).set('content-type', 'application/json');
  return (auth ? r.set('Authorization', auth) : r).send(body).expect(everyAnswerValid);
}

/** 127.0.0.1, 10.0.0.7 and 169.254.169.254 inside IPv6 addresses, as URL hosts. */
const DISGUISED: [string, string][] = [
  ['IPv4-compatible loopback', '[::7f00:1]'],
  ['IPv4-mapped loopback', '[::ffff:7f00:1]'],
  ['NAT64 loopback', '[64:ff9b::7f00:1]'],
  ['NAT64 metadata', '[64:ff9b::a9fe:a9fe]'],
  ['6to4 private', '[2002:a00:7::1]'],
  ['Teredo', '[2001:0:4136:e378:8000:63bf:3fff:fdd2]'],
];

const viaFhir = (fhirServer: string, extra: object = {}) =>
  hookRequest('demo-low-ccr', {
    fhirServer,
    fhirAuthorization: {
      access_token: 'fhir-access-token-XYZ',
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'patient/Observation.read',
      subject: 'crosstalk',
    },
    ...extra,
  });

beforeAll(async () => {
  [es, rs, rotated] = await Promise.all([makeKey('ES384'), makeKey('RS384'), makeKey('ES384')]);
  jwks = await startJwksServer(() => [es.publicJwk, ...(publishRotated ? [rotated.publicJwk] : [])]);
  attackerJwks = await startJwksServer(() => [es.publicJwk]);
  recorder = await startTcpRecorder();
  fhirHost = await startCrosstalk();
  fhirProxy = await startFaultProxy(() => `${fhirHost.url}/fhir`);
  // A FHIR server that answers every request with a redirect to another host.
  redirector = await startFaultProxy(
    () => `${fhirHost.url}/fhir`,
    () => ({ status: 302 }),
  );
  hang = await startFaultProxy(
    () => `${fhirHost.url}/fhir`,
    () => 'hang',
  );
  // A key server that accepts connections and never answers.
  stuckJwks = http.createServer(() => undefined);
  await new Promise<void>((r) => stuckJwks.listen(0, '127.0.0.1', r));
  stuckJwksUrl = `http://127.0.0.1:${(stuckJwks.address() as AddressInfo).port}/jwks.json`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-sec-'));
  const clientsFile = path.join(dir, 'clients.json');
  fs.writeFileSync(
    clientsFile,
    JSON.stringify({
      clients: [
        {
          iss: ISS,
          jwksUrls: [jwks.url],
          fhirServerOrigins: [
            fhirProxy.origin,
            redirector.origin,
            hang.origin,
            `https://127.0.0.1:${recorder.port}`,
            `https://localhost:${recorder.port}`,
            ...DISGUISED.map(([, host]) => `https://${host}:${recorder.port}`),
            'https://10.0.0.7',
            'https://169.254.169.254',
            'http://ehr.example.org',
          ],
        },
        {
          iss: INLINE_ISS,
          jwks: { keys: [rs.publicJwk] },
          algorithms: ['RS384'],
          fhirServerOrigins: [fhirProxy.origin],
        },
        {
          iss: TENANT_ISS,
          jwks: { keys: [es.publicJwk] },
          tenants: ['tenant-a'],
          sub: 'crosstalk-client',
          fhirServerOrigins: [],
        },
        { iss: STUCK_ISS, jwksUrls: [stuckJwksUrl], fhirServerOrigins: [] },
        { iss: MULTI_TENANT_ISS, jwks: { keys: [es.publicJwk] }, tenants: ['north', 'south'], fhirServerOrigins: [] },
        { iss: SPEC_EXAMPLE.iss, jwks: { keys: [SPEC_EXAMPLE.publicJwk] }, fhirServerOrigins: [] },
      ],
    }),
  );
  ct = await startCrosstalk({
    CROSSTALK_DEV_MODE: 'false',
    CROSSTALK_EMBEDDED_FHIR: 'false',
    CROSSTALK_AUDIT_HMAC_KEY: 'security-suite-audit-key-0123456789abcdef',
    CROSSTALK_TRUSTED_CLIENTS: clientsFile,
    // These tests fail authentication on purpose, far more often than an address may (test/production-operations.test.ts).
    CROSSTALK_RATE_LIMIT_FAILED_AUTH_PER_MIN: '0',
    PUBLIC_BASE_URL: PUBLIC,
    CROSSTALK_INSECURE_FHIR_ORIGINS: `${fhirProxy.origin},${redirector.origin},${hang.origin}`,
    // The key servers here are local http; production key sets are https.
    CROSSTALK_INSECURE_JWKS_ORIGINS: [jwks.url, attackerJwks.url, stuckJwksUrl].map((u) => new URL(u).origin).join(','),
    CROSSTALK_CORS_ORIGINS: 'https://ehr-ui.example.org',
    CROSSTALK_FHIR_TIMEOUT_MS: '2000',
    CROSSTALK_REQUEST_BUDGET_MS: '3000',
    // Longer than the budget, so a stuck key server shows the budget at work.
    CROSSTALK_JWKS_TIMEOUT_MS: '5000',
    CROSSTALK_JWKS_COOLDOWN_S: '1',
  });
  // Warm the embedded FHIR server's search path so cold-start compilation is not mistaken for a hang.
  await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-low-ccr');
});

afterAll(async () => {
  await ct?.close();
  await fhirHost?.close();
  stuckJwks?.closeAllConnections();
  await Promise.all([
    jwks?.close(),
    attackerJwks?.close(),
    fhirProxy?.close(),
    redirector?.close(),
    recorder?.close(),
    hang?.close(),
    new Promise((r) => stuckJwks?.close(r)),
  ]);
});

describe('an authenticated EHR', () => {
  it('calls patient-view with an ES384 token whose keys come from its allow-listed jku', async () => {
    const before = fhirProxy.requests.length;
    const res = await call(`Bearer ${await token()}`, viaFhir(fhirProxy.fhirBase)).expect(200);
    expectValidCdsResponse(res.body);
    expect(res.body.cards).toHaveLength(1);
    const reached = fhirProxy.requests.slice(before);
    expect(reached.length).toBeGreaterThan(0);
    expect(reached.every((r) => r.authorization === 'Bearer fhir-access-token-XYZ')).toBe(true);
  });

  it('is served whatever the case of the bearer scheme name (RFC 6750): bearer, BEARER, BeArEr', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      expectValidCdsResponse((await call(`${scheme} ${await token()}`, viaFhir(fhirProxy.fhirBase)).expect(200)).body);
    }
  });

  it('calls with an RS384 token verified against inline keys', async () => {
    const res = await call(
      `Bearer ${await sign({ iss: INLINE_ISS, aud: SERVICE_AUD, key: rs })}`,
      viaFhir(fhirProxy.fhirBase),
    ).expect(200);
    expectValidCdsResponse(res.body);
  });

  it('may send aud as an array that contains the endpoint URL', async () => {
    await call(
      `Bearer ${await token({ aud: ['https://other.example.org', SERVICE_AUD] })}`,
      viaFhir(fhirProxy.fhirBase),
    ).expect(200);
  });

  it('needs a token for discovery too, with the discovery URL as aud', async () => {
    await request(ct.url).get('/cds-services').expect(401);
    const res = await request(ct.url)
      .get('/cds-services')
      .set('Authorization', `Bearer ${await token({ aud: `${PUBLIC}/cds-services` })}`)
      .expect(200);
    expectValidDiscovery(res.body);
  });

  it('is served after its keys rotate: an unknown kid triggers one refetch of the JWK Set', async () => {
    publishRotated = true;
    await new Promise((r) => setTimeout(r, 1100)); // past the 1 s refetch cooldown set for this suite
    const res = await call(`Bearer ${await token({ key: rotated })}`, viaFhir(fhirProxy.fhirBase));
    expect(res.status).toBe(200);
  });

  it('passes with the right tenant and sub, and fails with another tenant', async () => {
    const prefetch = await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-normal');
    const body = hookRequest('demo-normal', { prefetch });
    await call(
      `Bearer ${await sign({ iss: TENANT_ISS, aud: SERVICE_AUD, key: es, extra: { tenant: 'tenant-a', sub: 'crosstalk-client' } })}`,
      body,
    ).expect(200);
    await call(
      `Bearer ${await sign({ iss: TENANT_ISS, aud: SERVICE_AUD, key: es, extra: { tenant: 'tenant-b', sub: 'crosstalk-client' } })}`,
      body,
    ).expect(401);
    await call(
      `Bearer ${await sign({ iss: TENANT_ISS, aud: SERVICE_AUD, key: es, extra: { tenant: 'tenant-a', sub: 'someone-else' } })}`,
      body,
    ).expect(401);
  });
});

describe('feedback', () => {
  const FEEDBACK_AUD = `${SERVICE_AUD}/feedback`;
  async function cardFor(o: Partial<Parameters<typeof sign>[0]>): Promise<string> {
    const prefetch = await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-low-ccr');
    const res = await call(`Bearer ${await token(o)}`, hookRequest('demo-low-ccr', { prefetch })).expect(200);
    return res.body.cards[0].uuid as string;
  }
  const feedback = async (card: string, o: Partial<Parameters<typeof sign>[0]>) =>
    request(ct.url)
      .post(`/cds-services/${SERVICE_ID}/feedback`)
      .set('content-type', 'application/json')
      .set('Authorization', `Bearer ${await token({ aud: FEEDBACK_AUD, ...o })}`)
      .send({
        feedback: [
          {
            card,
            outcome: 'overridden',
            overrideReason: { reason: { system: 'urn:crosstalk:codesystem:override-reason', code: 'not-relevant' } },
            outcomeTimestamp: new Date().toISOString(),
          },
        ],
      });

  it('is accepted only from the issuer the card was issued to', async () => {
    const card = await cardFor({});
    const stranger = await feedback(card, { iss: INLINE_ISS, key: rs, jku: undefined });
    expect(stranger.status).toBe(422);
    expectOperationOutcome(stranger.body);
    expect(stranger.body.issue[0].details.text).toMatch(/was not issued by this Crosstalk/);
    expect((await feedback(card, {})).status).toBe(200);
  });

  it('is accepted only from the tenant the card was issued to', async () => {
    const card = await cardFor({ iss: MULTI_TENANT_ISS, jku: undefined, extra: { tenant: 'north' } });
    const other = await feedback(card, { iss: MULTI_TENANT_ISS, jku: undefined, extra: { tenant: 'south' } });
    expect(other.status).toBe(422);
    expect((await feedback(card, { iss: MULTI_TENANT_ISS, jku: undefined, extra: { tenant: 'north' } })).status).toBe(
      200,
    );
  });
});

describe('a request that fails authentication', () => {
  const negatives: [string, () => Promise<string | undefined>][] = [
    ['has no token', async () => undefined],
    [
      'uses alg none',
      async () =>
        `Bearer ${b64url({ alg: 'none', typ: 'JWT', kid: es.kid })}.${b64url({ iss: ISS, aud: SERVICE_AUD, exp: Math.floor(Date.now() / 1000) + 300, iat: Math.floor(Date.now() / 1000), jti: randomUUID() })}.`,
    ],
    [
      'is HS256-signed with the public key as the secret',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(es.publicJwk));
        const now = Math.floor(Date.now() / 1000);
        return `Bearer ${await new SignJWT({ jti: randomUUID() })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: es.kid, jku: jwks.url })
          .setIssuer(ISS)
          .setAudience(SERVICE_AUD)
          .setIssuedAt(now)
          .setExpirationTime(now + 300)
          .sign(secret)}`;
      },
    ],
    ['has expired', async () => `Bearer ${await token({ expSeconds: -600, iatSeconds: -900 })}`],
    ['was issued in the future', async () => `Bearer ${await token({ iatSeconds: 600, expSeconds: 900 })}`],
    ['lives longer than the lifetime cap', async () => `Bearer ${await token({ expSeconds: 7200 })}`],
    ['names another audience', async () => `Bearer ${await token({ aud: `${PUBLIC}/cds-services/another-service` })}`],
    [
      'has an aud array without our URL',
      async () => `Bearer ${await token({ aud: ['https://a.example.org', 'https://b.example.org'] })}`,
    ],
    ['uses an unknown kid', async () => `Bearer ${await token({ kid: 'no-such-kid' })}`],
    ['comes from an untrusted issuer', async () => `Bearer ${await token({ iss: 'https://stranger.example.org' })}`],
    ['points jku at a set that is not allow-listed', async () => `Bearer ${await token({ jku: attackerJwks.url })}`],
    [
      'has a tampered payload',
      async () => {
        const [h, , s] = (await token()).split('.');
        return `Bearer ${h}.${b64url({ iss: ISS, aud: SERVICE_AUD, exp: Math.floor(Date.now() / 1000) + 300, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), admin: true })}.${s}`;
      },
    ],
    ['is the CDS Hooks specification example token (expired)', async () => `Bearer ${SPEC_EXAMPLE.token}`],
    ['is not a bearer token', async () => `Basic ${Buffer.from('a:b').toString('base64')}`],
  ];

  for (const [name, make] of negatives) {
    it(`${name}: 401 with a bare OperationOutcome, and no FHIR call`, async () => {
      const auth = await make();
      const before = fhirProxy.requests.length;
      const res = await call(auth, viaFhir(fhirProxy.fhirBase)).expect(401);
      expectOperationOutcome(res.body);
      expect(res.body.issue).toEqual([
        { severity: 'error', code: 'login', details: { text: 'Authentication failed.' } },
      ]);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(fhirProxy.requests.length).toBe(before);
    });
  }

  it('never fetches a jku that is not allow-listed', () => {
    expect(attackerJwks.hits).toBe(0);
  });

  it('refuses a replayed jti', async () => {
    const t = await token();
    await call(`Bearer ${t}`, viaFhir(fhirProxy.fhirBase)).expect(200);
    const before = fhirProxy.requests.length;
    await call(`Bearer ${t}`, viaFhir(fhirProxy.fhirBase)).expect(401);
    expect(fhirProxy.requests.length).toBe(before);
  });

  it('does not refetch the JWK Set for every unknown kid (rate limit)', async () => {
    const hits = jwks.hits;
    for (let i = 0; i < 5; i++)
      await call(`Bearer ${await token({ kid: `unknown-${i}` })}`, viaFhir(fhirProxy.fhirBase)).expect(401);
    expect(jwks.hits - hits).toBeLessThanOrEqual(1);
  });
});

describe('the FHIR token and the network', () => {
  const refused: [string, () => string][] = [
    ['127.0.0.1 over https', () => `https://127.0.0.1:${recorder.port}/fhir`],
    ['a name that resolves to loopback', () => `https://localhost:${recorder.port}/fhir`],
    ['a private 10.x address', () => 'https://10.0.0.7/fhir'],
    ['the cloud metadata address 169.254.169.254', () => 'https://169.254.169.254/latest/meta-data'],
    ['plain http', () => 'http://ehr.example.org/fhir'],
    ['an origin the client did not register', () => `https://fhir.elsewhere.example.org/fhir`],
    ...DISGUISED.map(([name, host]): [string, () => string] => [
      `the ${name} address ${host}`,
      () => `https://${host}:${recorder.port}/fhir`,
    ]),
  ];
  for (const [name, url] of refused) {
    it(`refuses fhirServer at ${name}: 412, nothing sent`, async () => {
      const before = recorder.connections;
      const res = await call(`Bearer ${await token()}`, viaFhir(url())).expect(412);
      expectOperationOutcome(res.body);
      expect(res.body.issue.map((i: { code: string }) => i.code)).toContain('security');
      expect(recorder.connections).toBe(before);
      expect(JSON.stringify(res.body)).not.toContain('fhir-access-token-XYZ');
    });
  }

  it('does not follow a redirect to another host', async () => {
    const before = recorder.connections;
    const res = await call(`Bearer ${await token()}`, viaFhir(redirector.fhirBase)).expect(412);
    expectOperationOutcome(res.body);
    expect(recorder.connections).toBe(before);
  });

  it('does not follow a paging link to another host', async () => {
    const before = recorder.connections;
    const full = await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-low-ccr');
    const prefetch = {
      ...full,
      cystatinC: searchsetOf([], `http://127.0.0.1:${recorder.port}/fhir/Observation?page=2`),
    };
    const res = await call(`Bearer ${await token()}`, viaFhir(fhirProxy.fhirBase, { prefetch })).expect(200);
    expectValidCdsResponse(res.body);
    expect(recorder.connections).toBe(before);
  });

  it('answers 412 within the FHIR time budget when the FHIR server hangs', async () => {
    const t0 = Date.now();
    const res = await call(`Bearer ${await token()}`, viaFhir(hang.fhirBase)).expect(412);
    expect(res.body.issue.map((i: { code: string }) => i.code)).toContain('timeout');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(hang.requests.length).toBeGreaterThan(0);
  });

  it('answers 503 within the request budget when the key server hangs', async () => {
    const t0 = Date.now();
    const res = await call(
      `Bearer ${await sign({ iss: STUCK_ISS, aud: SERVICE_AUD, key: es })}`,
      viaFhir(fhirProxy.fhirBase),
    ).expect(503);
    expectOperationOutcome(res.body);
    expect(Date.now() - t0).toBeLessThan(4500);
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin, allowing Authorization, without a token', async () => {
    const res = await request(ct.url)
      .options(`/cds-services/${SERVICE_ID}`)
      .set('Origin', 'https://ehr-ui.example.org')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(res.status).toBeLessThan(300);
    expect(res.headers['access-control-allow-origin']).toBe('https://ehr-ui.example.org');
    expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/i);
  });

  it('puts the headers on error responses too', async () => {
    const res = await request(ct.url)
      .post(`/cds-services/${SERVICE_ID}`)
      .set('Origin', 'https://ehr-ui.example.org')
      .send({})
      .expect(401);
    expect(res.headers['access-control-allow-origin']).toBe('https://ehr-ui.example.org');
  });

  it('gives no CORS grant to an origin that is not allow-listed', async () => {
    const res = await request(ct.url)
      .options('/cds-services')
      .set('Origin', 'https://evil.example.org')
      .set('Access-Control-Request-Method', 'GET');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('the logs of this whole suite', () => {
  it('hold the reasons for failures, but no token, JWT or patient id', () => {
    const text = ct.logs.text;
    expect(text).toMatch(/"reason":"jti replayed"/);
    expect(text).toMatch(/"reason":"untrusted iss"/);
    // A wrong aud is most often a PUBLIC_BASE_URL that is not the URL the EHR calls: the log says what was expected.
    expect(text).toContain(
      `aud mismatch: expected ${SERVICE_AUD}, token has \\"${PUBLIC}/cds-services/another-service\\"`,
    );
    expect(text).not.toContain('fhir-access-token-XYZ');
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    for (const t of issued) expect(text).not.toContain(t.split('.')[2]);
    expect(text).not.toMatch(/demo-low-ccr|demo-normal/);
  });
});
