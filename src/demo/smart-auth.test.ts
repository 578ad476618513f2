import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../cds/outcomes';
import { createSmartAuthServer } from './smart-auth';

const BASE = 'https://ehr.example';
const VERIFIER = 'a-verifier-long-enough-for-pkce-0123456789abcdef';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

/** The authorization server alone, on a clock the test moves: time is the one thing a real server cannot fast-forward. */
function withClock() {
  let t = Date.parse('2026-11-25T10:00:00Z');
  const auth = createSmartAuthServer({
    fhirBase: () => `${BASE}/fhir`,
    authBase: () => `${BASE}/auth`,
    client: () => ({ clientId: 'app', redirectUris: [`${BASE}/app/index.html`] }),
    patients: async () => [],
    tokenLifetimeSeconds: 300,
    now: () => t,
  });
  const app = express();
  app.use('/auth', auth.router);
  app.use('/fhir', auth.guard, (_req, res) => res.json({ resourceType: 'Patient', id: 'p1' }));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpProblem) res.status(err.status).json(err.outcome);
    else res.status(500).end();
  });
  return { app, advance: (seconds: number) => (t += seconds * 1000) };
}

async function launch(app: express.Express): Promise<string> {
  return (await request(app).post('/auth/launch').send({ patient: 'p1' })).body.launch as string;
}

async function code(app: express.Express, launchId: string): Promise<request.Response> {
  return request(app)
    .get('/auth/authorize')
    .query({
      response_type: 'code',
      client_id: 'app',
      redirect_uri: `${BASE}/app/index.html`,
      scope: 'launch patient/Patient.read',
      aud: `${BASE}/fhir`,
      launch: launchId,
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
    });
}

function exchange(app: express.Express, location: string) {
  return request(app)
    .post('/auth/token')
    .type('form')
    .send({
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      redirect_uri: `${BASE}/app/index.html`,
      client_id: 'app',
      code_verifier: VERIFIER,
    });
}

describe('the local SMART authorization server over time', () => {
  it('lets a token read until it expires, then answers 401', async () => {
    const { app, advance } = withClock();
    const t = await exchange(app, (await code(app, await launch(app))).headers.location as string);
    expect(t.body.expires_in).toBe(300);
    const auth = { authorization: `Bearer ${t.body.access_token as string}` };
    expect((await request(app).get('/fhir/Patient/p1').set(auth)).status).toBe(200);
    advance(299);
    expect((await request(app).get('/fhir/Patient/p1').set(auth)).status).toBe(200);
    advance(1);
    const expired = await request(app).get('/fhir/Patient/p1').set(auth);
    expect(expired.status).toBe(401);
    expect(expired.body.issue[0].code).toBe('login');
  });

  it('refuses a code older than a minute', async () => {
    const { app, advance } = withClock();
    const authorized = await code(app, await launch(app));
    advance(61);
    expect((await exchange(app, authorized.headers.location as string)).body.error).toBe('invalid_grant');
  });

  it('forgets an EHR launch after ten minutes', async () => {
    const { app, advance } = withClock();
    const id = await launch(app);
    advance(601);
    const r = await code(app, id);
    expect(new URL(r.headers.location as string).searchParams.get('error')).toBe('invalid_request');
  });
});
