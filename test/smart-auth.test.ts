/**
 * The local SMART authorization server over real HTTP, as fhirclient (or any SMART app) meets it: discovery,
 * EHR and standalone launches with PKCE, tokens with patient and appContext, and what a token may read.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServices } from '../src/cds/services';
import { expectOperationOutcome, startCrosstalk } from './support/harness';

let crosstalk: Awaited<ReturnType<typeof startCrosstalk>>;
let base: string;

beforeAll(async () => {
  crosstalk = await startCrosstalk();
  base = crosstalk.config.publicBaseUrl;
});
afterAll(() => crosstalk?.close());

const verifier = () => randomBytes(32).toString('base64url');
const challenge = (v: string) => createHash('sha256').update(v).digest('base64url');

async function registerLaunch(patient: string, appContext?: string): Promise<string> {
  const res = await fetch(`${base}/demo/smart/launch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ patient, appContext }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { launch: string }).launch;
}

function authorizeUrl(params: Record<string, string>): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'crosstalk',
    redirect_uri: `${base}/app/index.html`,
    scope: 'launch patient/Patient.read patient/Observation.read',
    aud: `${base}/fhir`,
    state: 'st4te',
    code_challenge_method: 'S256',
    ...params,
  });
  return `${base}/demo/smart/authorize?${q.toString()}`;
}

/** Follows nothing: returns where the authorization server sends the browser back to. */
async function authorize(params: Record<string, string>): Promise<{ status: number; to?: URL; body: string }> {
  const res = await fetch(authorizeUrl(params), { redirect: 'manual' });
  const location = res.headers.get('location');
  return { status: res.status, ...(location ? { to: new URL(location) } : {}), body: await res.text() };
}

async function token(
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${base}/demo/smart/token`, { method: 'POST', body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function ehrLaunchToken(patient: string, appContext?: string, scope?: string) {
  const v = verifier();
  const launch = await registerLaunch(patient, appContext);
  const a = await authorize({ launch, code_challenge: challenge(v), ...(scope ? { scope } : {}) });
  const code = a.to?.searchParams.get('code') ?? '';
  return token({
    grant_type: 'authorization_code',
    code,
    redirect_uri: `${base}/app/index.html`,
    client_id: 'crosstalk',
    code_verifier: v,
  });
}

describe('the local SMART authorization server', () => {
  it('is discoverable on the embedded FHIR base with PKCE, public clients and both scope syntaxes', async () => {
    const res = await fetch(`${base}/fhir/.well-known/smart-configuration`);
    expect(res.status).toBe(200);
    const c = (await res.json()) as Record<string, unknown>;
    expect(c).toMatchObject({
      authorization_endpoint: `${base}/demo/smart/authorize`,
      token_endpoint: `${base}/demo/smart/token`,
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
    });
    expect(c.capabilities).toEqual(
      expect.arrayContaining([
        'launch-ehr',
        'launch-standalone',
        'client-public',
        'context-ehr-patient',
        'permission-v1',
        'permission-v2',
      ]),
    );
  });

  it('runs an EHR launch: the token names the patient and carries the appContext the EHR registered', async () => {
    const t = await ehrLaunchToken('demo-low-ccr', '{"ruleId":"low-ccr"}');
    expect(t.status).toBe(200);
    expect(t.headers.get('cache-control')).toBe('no-store');
    expect(t.body).toMatchObject({
      token_type: 'Bearer',
      patient: 'demo-low-ccr',
      appContext: '{"ruleId":"low-ccr"}',
      scope: 'launch patient/Patient.read patient/Observation.read',
    });
    expect(t.body.expires_in).toBeGreaterThan(0);
    expect(String(t.body.access_token)).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  });

  it('grants SMART v2 scopes and drops what it cannot grant', async () => {
    const t = await ehrLaunchToken(
      'demo-normal',
      undefined,
      'launch patient/Patient.rs patient/Observation.rs user/*.* openid',
    );
    expect(t.body.scope).toBe('launch patient/Patient.rs patient/Observation.rs');
    expect(t.body).not.toHaveProperty('appContext');
  });

  it('lets a token search its own patient’s resources of every granted type, and no other patient’s', async () => {
    const t = await ehrLaunchToken(
      'demo-steroid',
      undefined,
      'launch patient/Patient.rs patient/MedicationRequest.rs patient/Condition.rs',
    );
    const auth = { authorization: `Bearer ${String(t.body.access_token)}` };
    const meds = await fetch(`${base}/fhir/MedicationRequest?patient=demo-steroid`, { headers: auth });
    expect(meds.status).toBe(200);
    expect(((await meds.json()) as { entry?: unknown[] }).entry?.length).toBeGreaterThan(0);
    expect((await fetch(`${base}/fhir/Condition?patient=Patient/demo-steroid`, { headers: auth })).status).toBe(200);
    for (const url of [
      'MedicationRequest?patient=demo-normal',
      'MedicationRequest',
      'Observation?patient=demo-steroid',
      'Condition?patient=demo-steroid&patient=demo-normal',
    ]) {
      expect((await fetch(`${base}/fhir/${url}`, { headers: auth })).status, url).toBe(403);
    }
  });

  it('lets a token read its own patient’s record and nothing else', async () => {
    const t = await ehrLaunchToken('demo-low-ccr');
    const auth = { authorization: `Bearer ${String(t.body.access_token)}` };
    expect((await fetch(`${base}/fhir/Patient/demo-low-ccr`, { headers: auth })).status).toBe(200);
    const obs = await fetch(`${base}/fhir/Observation?patient=demo-low-ccr&code=http://loinc.org|2160-0`, {
      headers: auth,
    });
    expect(obs.status).toBe(200);
    expect(((await obs.json()) as { total: number }).total).toBe(2);
    for (const url of [
      'Patient/demo-normal',
      'Observation?patient=demo-normal',
      'Observation?code=http://loinc.org|2160-0',
      'Observation/demo-low-ccr-cr',
      'Patient',
    ]) {
      const res = await fetch(`${base}/fhir/${url}`, { headers: auth });
      expect(res.status, url).toBe(403);
      expectOperationOutcome(await res.json());
    }
    // Searches of a type the token was not granted are refused even for its own patient.
    expect((await fetch(`${base}/fhir/MedicationRequest?patient=demo-low-ccr`, { headers: auth })).status).toBe(403);
    const write = await fetch(`${base}/fhir/Patient/demo-low-ccr`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/fhir+json' },
      body: '{"resourceType":"Patient","id":"demo-low-ccr"}',
    });
    expect(write.status).toBe(403);
  });

  it('answers 401 to a token it issued once revoked, and serves requests without its tokens as the open demo server', async () => {
    const t = await ehrLaunchToken('demo-low-ccr');
    const auth = { authorization: `Bearer ${String(t.body.access_token)}` };
    expect(
      (
        await fetch(`${base}/demo/smart/revoke`, {
          method: 'POST',
          body: new URLSearchParams({ token: String(t.body.access_token) }),
        })
      ).status,
    ).toBe(200);
    const revoked = await fetch(`${base}/fhir/Patient/demo-low-ccr`, { headers: auth });
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expectOperationOutcome(await revoked.json());

    expect((await fetch(`${base}/fhir/Patient/demo-normal`)).status).toBe(200);
    expect(
      (await fetch(`${base}/fhir/Patient/demo-normal`, { headers: { authorization: 'Bearer a-cds-clients-token' } }))
        .status,
    ).toBe(200);
    expect(
      (
        await fetch(`${base}/demo/smart/revoke`, {
          method: 'POST',
          body: new URLSearchParams({ token: 'never-issued' }),
        })
      ).status,
    ).toBe(200);
  });

  it('never redirects to an unregistered redirect URI or for an unknown client', async () => {
    const bad: Record<string, string>[] = [
      { redirect_uri: 'https://attacker.example/cb' },
      { client_id: 'someone-else' },
    ];
    for (const params of bad) {
      const a = await authorize({
        launch: await registerLaunch('demo-low-ccr'),
        code_challenge: challenge(verifier()),
        ...params,
      });
      expect(a.status).toBe(400);
      expect(a.to).toBeUndefined();
      expectOperationOutcome(JSON.parse(a.body));
    }
  });

  it('sends errors back to the app for a wrong audience, no PKCE, or an unknown launch', async () => {
    const launch = await registerLaunch('demo-low-ccr');
    const cases: [Record<string, string>, string][] = [
      [{ launch, code_challenge: challenge(verifier()), aud: 'https://other.example/fhir' }, 'invalid_request'],
      [{ launch }, 'invalid_request'],
      [{ launch: 'made-up', code_challenge: challenge(verifier()) }, 'invalid_request'],
      [{ launch, code_challenge: challenge(verifier()), response_type: 'token' }, 'unsupported_response_type'],
      [{ launch, code_challenge: challenge(verifier()), scope: 'launch' }, 'invalid_scope'],
    ];
    for (const [params, error] of cases) {
      const a = await authorize(params);
      expect(a.status, JSON.stringify(params)).toBe(302);
      expect(a.to?.origin + (a.to?.pathname ?? '')).toBe(`${base}/app/index.html`);
      expect(a.to?.searchParams.get('error'), JSON.stringify(params)).toBe(error);
      expect(a.to?.searchParams.get('state')).toBe('st4te');
      expect(a.to?.searchParams.has('code')).toBe(false);
    }
  });

  it('exchanges a code once, only with the right PKCE verifier and redirect URI', async () => {
    const v = verifier();
    const a = await authorize({ launch: await registerLaunch('demo-low-ccr'), code_challenge: challenge(v) });
    const code = a.to?.searchParams.get('code') ?? '';
    const form = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: `${base}/app/index.html`,
      client_id: 'crosstalk',
    };
    // A wrong verifier burns the code, as a stolen code must not be retried.
    expect((await token({ ...form, code_verifier: verifier() })).body.error).toBe('invalid_grant');
    expect((await token({ ...form, code_verifier: v })).body.error).toBe('invalid_grant');

    const v2 = verifier();
    const a2 = await authorize({ launch: await registerLaunch('demo-low-ccr'), code_challenge: challenge(v2) });
    const form2 = { ...form, code: a2.to?.searchParams.get('code') ?? '', code_verifier: v2 };
    expect((await token({ ...form2, redirect_uri: `${base}/elsewhere` })).body.error).toBe('invalid_grant');

    const v3 = verifier();
    const a3 = await authorize({ launch: await registerLaunch('demo-low-ccr'), code_challenge: challenge(v3) });
    const form3 = { ...form, code: a3.to?.searchParams.get('code') ?? '', code_verifier: v3 };
    expect((await token(form3)).status).toBe(200);
    expect((await token(form3)).body.error).toBe('invalid_grant');
    expect((await token({ grant_type: 'client_credentials' })).body.error).toBe('unsupported_grant_type');
  });

  it('offers a patient picker for a standalone launch, then issues a code for the chosen patient', async () => {
    const v = verifier();
    const scope = 'launch/patient patient/Patient.read patient/Observation.read';
    const picker = await authorize({ scope, code_challenge: challenge(v) });
    expect(picker.status).toBe(200);
    expect(picker.body).toContain('value="demo-teen"');
    expect(picker.body).toContain(`name="code_challenge" value="${challenge(v)}"`);
    const chosen = await authorize({ scope, code_challenge: challenge(v), patient: 'demo-teen' });
    const t = await token({
      grant_type: 'authorization_code',
      code: chosen.to?.searchParams.get('code') ?? '',
      redirect_uri: `${base}/app/index.html`,
      client_id: 'crosstalk',
      code_verifier: v,
    });
    expect(t.body).toMatchObject({ patient: 'demo-teen', scope });
  });

  it('refuses to register a launch without a valid patient id', async () => {
    for (const body of [{}, { patient: '../etc' }, { patient: 'demo-low-ccr', appContext: 'x'.repeat(3000) }]) {
      const res = await fetch(`${base}/demo/smart/launch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(400);
      expectOperationOutcome(await res.json());
    }
  });

  it('sends a newcomer at the service root to the demo EHR, and serves the app, its config and knowledge', async () => {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/demo/');
    for (const p of [
      '/demo/',
      '/app/launch.html',
      '/app/index.html',
      '/app/app.js',
      '/app/launch.js',
      '/demo/ehr.js',
    ]) {
      const res = await fetch(`${base}${p}`);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-security-policy'), p).toContain("script-src 'self'");
    }
    const k = (await (await fetch(`${base}/app/knowledge.json`)).json()) as {
      knowledge: { version: string };
      rules: string[];
    };
    expect(k.rules).toEqual(loadServices().get('bone-muscle-patient-view')!.definition.rules);
    expect(k.knowledge.version).toMatch(/^\d{4}\./);
  });
});

describe('the service without the embedded demo', () => {
  it('serves neither the demo EHR nor the local authorization server, but still the app', async () => {
    const prod = await startCrosstalk({
      CROSSTALK_EMBEDDED_FHIR: 'false',
      PUBLIC_BASE_URL: 'https://cds.hospital.example',
    });
    try {
      for (const p of ['/demo/', '/demo/smart/launch', '/fhir/.well-known/smart-configuration', '/'])
        expect((await fetch(`${prod.url}${p}`)).status, p).toBe(404);
      expect((await fetch(`${prod.url}/app/index.html`)).status).toBe(200);
      const cfg = (await (await fetch(`${prod.url}/app/config.json`)).json()) as Record<string, unknown>;
      // What patient-view reads, so the app can read it too.
      const read = [
        'Patient',
        'Observation',
        'MedicationRequest',
        'MedicationStatement',
        'MedicationAdministration',
        'MedicationDispense',
        'Condition',
        'DiagnosticReport',
        'ServiceRequest',
        // Hospice and palliative care, and a DXA recorded as a Procedure.
        'Procedure',
        'Encounter',
      ]
        .map((t) => `patient/${t}.read`)
        .join(' ');
      expect(cfg).toEqual({
        clientId: 'crosstalk',
        scope: { ehr: `launch ${read}`, standalone: `launch/patient ${read}` },
        redirectUri: 'https://cds.hospital.example/app/index.html',
        // Named by the app if it is ever opened on another origin.
        redirectUriSetting: 'PUBLIC_BASE_URL',
      });
    } finally {
      await prod.close();
    }
  });
});
