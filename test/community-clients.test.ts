/**
 * What the community's browser-based clients need from `npm start`: the CDS Hooks Sandbox calls discovery, the
 * services, feedback and the FHIR server from another origin (preflights with Authorization, Chrome's Private
 * Network Access), and asks the FHIR server for a SMART launch context before it opens a card's link.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PROFILE, loadConfig } from '../src/server/config';
import { expectOperationOutcome, SERVICE_ID, startCrosstalk } from './support/harness';

const SANDBOX = 'https://sandbox.cds-hooks.org';

let ct: Awaited<ReturnType<typeof startCrosstalk>>;
beforeAll(async () => {
  ct = await startCrosstalk({ CROSSTALK_CORS_ORIGINS: DEMO_PROFILE.CROSSTALK_CORS_ORIGINS as string });
});
afterAll(() => ct?.close());

/** A browser's preflight, header for header, for a call with a bearer token and a JSON body. */
function preflight(path: string, method = 'POST', origin = SANDBOX) {
  return request(ct.url)
    .options(path)
    .set('Origin', origin)
    .set('Access-Control-Request-Method', method)
    .set('Access-Control-Request-Headers', 'authorization,content-type')
    .set('Access-Control-Request-Private-Network', 'true');
}

describe('CORS in the demo profile', () => {
  it('answers the preflights of any origin on the CDS endpoints and the FHIR server, Private Network Access included', async () => {
    const paths: [string, string][] = [
      ['/cds-services', 'GET'],
      [`/cds-services/${SERVICE_ID}`, 'POST'],
      [`/cds-services/${SERVICE_ID}/feedback`, 'POST'],
      ['/fhir/metadata', 'GET'],
      ['/fhir/Observation/_search', 'POST'],
      ['/fhir/_services/smart/Launch', 'POST'],
      ['/fhir/.well-known/smart-configuration', 'GET'],
      ['/demo/smart/token', 'POST'],
    ];
    for (const [path, method] of paths) {
      for (const origin of [SANDBOX, 'http://localhost:8080']) {
        const res = await preflight(path, method, origin);
        expect(res.status, path).toBe(204);
        expect(res.headers['access-control-allow-origin'], path).toBe(origin);
        expect(res.headers['access-control-allow-methods'], path).toContain(method);
        expect(
          res.headers['access-control-allow-headers']?.split(',').map((h: string) => h.trim().toLowerCase()),
          path,
        ).toEqual(expect.arrayContaining(['authorization', 'content-type']));
        expect(res.headers['access-control-allow-private-network'], path).toBe('true');
        // Bearer tokens, never cookies.
        expect(res.headers['access-control-allow-credentials'], path).toBeUndefined();
        expect(res.headers.vary, path).toMatch(/Origin/);
      }
    }
  });

  it('puts the headers on every answer, errors included', async () => {
    const answers = [
      await request(ct.url).get('/cds-services').set('Origin', SANDBOX).expect(200),
      await request(ct.url).post('/cds-services/no-such-service').set('Origin', SANDBOX).send({}).expect(404),
      await request(ct.url)
        .post(`/cds-services/${SERVICE_ID}`)
        .set('Origin', SANDBOX)
        .send({ hook: 'patient-view' })
        .expect(400),
      await request(ct.url).put('/cds-services').set('Origin', SANDBOX).expect(405),
      await request(ct.url).get('/fhir/Patient/demo-low-ccr').set('Origin', SANDBOX).expect(200),
      await request(ct.url).get('/fhir/Patient/nobody-here').set('Origin', SANDBOX).expect(404),
      await request(ct.url).get('/fhir/Observation?bogus=1').set('Origin', SANDBOX).expect(400),
      await request(ct.url)
        .post('/fhir/_services/smart/Launch')
        .set('Origin', SANDBOX)
        .send({ parameters: {} })
        .expect(400),
    ];
    for (const [i, res] of answers.entries()) {
      expect(res.headers['access-control-allow-origin'], `answer ${i} (HTTP ${res.status})`).toBe(SANDBOX);
      if (res.status >= 400) expectOperationOutcome(res.body);
    }
  });
});

describe('CORS outside the demo profile', () => {
  it('keeps the allow-list: no grant for other origins, and OPTIONS is never 405', async () => {
    const prod = await startCrosstalk({ CROSSTALK_CORS_ORIGINS: 'https://ehr-ui.example.org' });
    try {
      for (const path of ['/cds-services', `/cds-services/${SERVICE_ID}`, '/fhir/metadata']) {
        const other = await request(prod.url)
          .options(path)
          .set('Origin', SANDBOX)
          .set('Access-Control-Request-Method', 'GET')
          .set('Access-Control-Request-Private-Network', 'true');
        expect(other.status, path).toBe(204);
        expect(other.headers['access-control-allow-origin'], path).toBeUndefined();
        expect(other.headers['access-control-allow-private-network'], path).toBeUndefined();
        const listed = await request(prod.url)
          .options(path)
          .set('Origin', 'https://ehr-ui.example.org')
          .set('Access-Control-Request-Method', 'GET')
          .set('Access-Control-Request-Private-Network', 'true');
        expect(listed.headers['access-control-allow-origin'], path).toBe('https://ehr-ui.example.org');
        expect(listed.headers['access-control-allow-private-network'], path).toBe('true');
      }
      const plain = await request(prod.url).options('/cds-services');
      expect(plain.status).toBe(204);
      expect(plain.headers.allow).toContain('GET');
    } finally {
      await prod.close();
    }
  });

  it('refuses any-origin CORS without development mode', () => {
    expect(() => loadConfig({ CROSSTALK_CORS_ORIGINS: '*', CROSSTALK_TRUSTED_CLIENTS: '/dev/null' })).toThrow(
      /CROSSTALK_CORS_ORIGINS=\*.*development/,
    );
    expect(loadConfig({ ...DEMO_PROFILE }).corsOrigins).toEqual(['*']);
  });
});

describe('the Sandbox’s launch-context call (HSPC API)', () => {
  it('answers POST {fhirServer}/_services/smart/Launch with a launch_id the local authorization server knows', async () => {
    // The body the Sandbox sends (src/retrieve-data-helpers/launch-context-retrieval.js).
    const res = await request(ct.url)
      .post('/fhir/_services/smart/Launch')
      .set('Origin', SANDBOX)
      .set('Accept', 'application/json')
      .send({
        launchUrl: `${ct.config.publicBaseUrl}/app/launch.html`,
        parameters: { patient: 'demo-low-ccr', smart_messaging_origin: SANDBOX, appContext: '{"ruleId":"low-ccr"}' },
      })
      .expect(200);
    expect(Object.keys(res.body)).toEqual(['launch_id']);
    // The Sandbox appends it to the launch URL unencoded.
    expect(res.body.launch_id).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('refuses a launch without a patient or with an appContext that is not a string', async () => {
    for (const parameters of [
      {},
      { patient: 'has spaces' },
      { patient: 'demo-low-ccr', appContext: { ruleId: 'low-ccr' } },
    ]) {
      const res = await request(ct.url)
        .post('/fhir/_services/smart/Launch')
        .send({ launchUrl: 'x', parameters })
        .expect(400);
      expectOperationOutcome(res.body);
    }
  });
});
