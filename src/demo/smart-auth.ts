/**
 * A local SMART App Launch authorization server for the demo EHR and the embedded FHIR server: just enough of
 * an EHR's OAuth side for fhirclient to run a real EHR launch (iss + launch) or standalone launch, PKCE included.
 *
 * What it mirrors from a real EHR, because the app must meet it there too: the client id and redirect URI must
 * match the registration (the app's own configuration), `aud` must name the FHIR server, codes are single-use
 * and short-lived, tokens expire and can be revoked, and a token reads only its own patient's compartment.
 * Requests with no token, or a token it did not issue, are served openly, as the embedded FHIR server always did.
 * What it leaves out: users and consent (the demo user approves everything), refresh tokens, OpenID Connect.
 * Everything is in memory and lost at restart, like the embedded FHIR server. Demo and development only.
 */
import { createHash, randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { HttpProblem, operationOutcome } from '../cds/outcomes';

export interface SmartAuthOptions {
  /** The FHIR base URL tokens are for (`aud`), e.g. `${PUBLIC_BASE_URL}/fhir`, for the origin of this request. */
  fhirBase: (req: Request) => string;
  /** Absolute URL of this server's router, e.g. `${PUBLIC_BASE_URL}/demo/smart`, for the origin of this request. */
  authBase: (req: Request) => string;
  /** The app's registration: only this client and these redirect URIs are served. */
  client: () => { clientId: string; redirectUris: string[] };
  /** Patients for the standalone-launch picker. */
  patients: () => Promise<{ id: string; label: string }[]>;
  tokenLifetimeSeconds?: number;
  now?: () => number;
}

export interface SmartAuthServer {
  /** GET `{fhirBase}/.well-known/smart-configuration`. */
  wellKnown: RequestHandler;
  /** Mount at the path of `authBase`: /launch, /authorize, /token, /revoke. */
  router: Router;
  /** Mount in front of the FHIR server: checks the bearer tokens this server issued. */
  guard: RequestHandler;
  /**
   * What an EHR does before an EHR launch: registers the patient (and a card's appContext) and returns the
   * opaque `launch` value. Throws a 400 HttpProblem for a malformed patient id or appContext.
   */
  createLaunch(patient: unknown, appContext: unknown): string;
}

interface LaunchContext {
  patient: string;
  appContext?: string;
}
interface Grant extends LaunchContext {
  clientId: string;
  redirectUri: string;
  scope: string;
  codeChallenge: string;
  expires: number;
}
interface Token extends LaunchContext {
  scope: string;
  validUntil: number;
  revoked: boolean;
  /** When the record is dropped: a day after it stops being valid, so an ended session is told so (401). */
  expires: number;
}

const PATIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const CODE_LIFETIME_MS = 60_000;
const LAUNCH_LIFETIME_MS = 10 * 60_000;
const MAX_ENTRIES = 10_000;
const ENDED_TOKEN_MEMORY_MS = 24 * 3_600_000;

/**
 * The scopes this server can grant: launch context and patient-level read access to any resource type, v1 and v2
 * syntax. The demo grants whatever the app asks to read, and nothing that writes.
 */
const GRANTABLE = /^(launch|launch\/patient|patient\/([A-Z][A-Za-z]+|\*)\.(read|rs|r|s))$/;

const secret = () => randomBytes(32).toString('base64url');

/** A Map that forgets expired entries and never grows past a bound, so a busy demo cannot exhaust memory. */
class ExpiringStore<V extends { expires: number }> {
  private readonly m = new Map<string, V>();
  constructor(private readonly now: () => number) {}
  set(k: string, v: V): void {
    for (const [key, val] of this.m) if (val.expires <= this.now()) this.m.delete(key);
    while (this.m.size >= MAX_ENTRIES) this.m.delete(this.m.keys().next().value as string);
    this.m.set(k, v);
  }
  get(k: string): V | undefined {
    const v = this.m.get(k);
    if (v && v.expires <= this.now()) {
      this.m.delete(k);
      return undefined;
    }
    return v;
  }
  take(k: string): V | undefined {
    const v = this.get(k);
    this.m.delete(k);
    return v;
  }
  delete(k: string): void {
    this.m.delete(k);
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** RFC 6749, section 5.2: the token endpoint answers OAuth clients in OAuth's error format, not as a FHIR server. */
function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 4096 ? v : undefined;
}

const sameUrl = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

export function createSmartAuthServer(opts: SmartAuthOptions): SmartAuthServer {
  const now = opts.now ?? Date.now;
  const lifetime = opts.tokenLifetimeSeconds ?? 3600;
  const launches = new ExpiringStore<LaunchContext & { expires: number }>(now);
  const grants = new ExpiringStore<Grant>(now);
  const tokens = new ExpiringStore<Token>(now);

  const wellKnown: RequestHandler = (req, res) => {
    const base = opts.authBase(req);
    res.set('Cache-Control', 'no-cache').json({
      issuer: base,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      revocation_endpoint: `${base}/revoke`,
      token_endpoint_auth_methods_supported: ['none'],
      grant_types_supported: ['authorization_code'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['launch', 'launch/patient', 'patient/*.read', 'patient/*.rs'],
      capabilities: [
        'launch-ehr',
        'launch-standalone',
        'client-public',
        'context-ehr-patient',
        'context-standalone-patient',
        'permission-patient',
        'permission-v1',
        'permission-v2',
      ],
    });
  };

  const router = express.Router();
  router.use(express.json({ limit: '16kb' }));
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));

  const createLaunch = (rawPatient: unknown, rawAppContext: unknown): string => {
    const patient = str(rawPatient);
    const appContext = str(rawAppContext);
    if (!patient || !PATIENT_ID.test(patient))
      throw new HttpProblem(400, operationOutcome('invalid', 'Give "patient": a FHIR Patient id.'));
    if (rawAppContext !== undefined && (!appContext || appContext.length > 2048)) {
      throw new HttpProblem(
        400,
        operationOutcome('invalid', '"appContext" must be a string of at most 2048 characters.'),
      );
    }
    // base64url: the CDS Hooks Sandbox appends it to the launch URL without encoding it.
    const launch = secret();
    launches.set(launch, { patient, ...(appContext ? { appContext } : {}), expires: now() + LAUNCH_LIFETIME_MS });
    return launch;
  };

  // The EHR's side of an EHR launch: it registers the context and passes the opaque id as `launch`.
  router.post('/launch', (req, res) => {
    const launch = createLaunch(req.body?.patient, req.body?.appContext);
    res.status(201).set('Cache-Control', 'no-store').json({ launch });
  });

  router.get('/authorize', async (req, res) => {
    const q = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, str(v)]));
    const client = opts.client();
    // Never redirect to an unregistered URI (RFC 6749, section 4.1.2.1): say so here instead.
    if (q.client_id !== client.clientId)
      throw new HttpProblem(
        400,
        operationOutcome('security', `Unknown client_id; this server knows "${client.clientId}".`),
      );
    if (!q.redirect_uri || !client.redirectUris.some((u) => sameUrl(q.redirect_uri as string, u))) {
      throw new HttpProblem(
        400,
        operationOutcome(
          'security',
          `redirect_uri is not registered; this server knows ${client.redirectUris.join(', ')}.`,
        ),
      );
    }
    const back = (params: Record<string, string>) => {
      const u = new URL(q.redirect_uri as string);
      for (const [k, v] of Object.entries({ ...params, ...(q.state ? { state: q.state } : {}) }))
        u.searchParams.set(k, v);
      res.redirect(302, u.toString());
    };
    const fail = (error: string, description: string) => back({ error, error_description: description });
    if (q.response_type !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');
    if (!q.aud || !sameUrl(q.aud, opts.fhirBase(req)))
      return fail('invalid_request', `aud must be the FHIR server ${opts.fhirBase(req)}.`);
    if (q.code_challenge_method !== 'S256' || !q.code_challenge)
      return fail('invalid_request', 'PKCE with S256 is required.');
    const requested = (q.scope ?? '').split(/\s+/).filter(Boolean);
    const granted = requested.filter((s) => GRANTABLE.test(s));
    if (!granted.some((s) => s.startsWith('patient/')))
      return fail(
        'invalid_scope',
        'Request patient-level read access (patient/Patient.read, patient/Observation.read, …).',
      );

    let context: LaunchContext | undefined;
    if (requested.includes('launch')) {
      context = q.launch ? launches.get(q.launch) : undefined;
      if (!context) return fail('invalid_request', 'Unknown or expired launch: launch the app again from the EHR.');
    } else if (requested.includes('launch/patient')) {
      if (!q.patient) return sendPicker(res, q, await opts.patients());
      if (!PATIENT_ID.test(q.patient)) return fail('invalid_request', 'Pick a patient.');
      context = { patient: q.patient };
    } else {
      return fail('invalid_scope', 'Request launch (EHR launch) or launch/patient (standalone launch).');
    }
    const code = secret();
    grants.set(code, {
      ...context,
      clientId: client.clientId,
      redirectUri: q.redirect_uri,
      scope: granted.join(' '),
      codeChallenge: q.code_challenge,
      expires: now() + CODE_LIFETIME_MS,
    });
    back({ code });
  });

  router.post('/token', (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (b.grant_type !== 'authorization_code')
      return oauthError(res, 400, 'unsupported_grant_type', 'Only authorization_code is supported.');
    const code = str(b.code);
    const grant = code ? grants.take(code) : undefined;
    if (!grant) return oauthError(res, 400, 'invalid_grant', 'Unknown, used or expired code.');
    if (str(b.client_id) !== grant.clientId)
      return oauthError(res, 400, 'invalid_client', 'client_id does not match the authorization request.');
    if (!sameUrl(str(b.redirect_uri) ?? '', grant.redirectUri))
      return oauthError(res, 400, 'invalid_grant', 'redirect_uri does not match the authorization request.');
    const verifier = str(b.code_verifier) ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== grant.codeChallenge) {
      return oauthError(res, 400, 'invalid_grant', 'code_verifier does not match the code_challenge.');
    }
    const accessToken = secret();
    const validUntil = now() + lifetime * 1000;
    tokens.set(accessToken, {
      patient: grant.patient,
      scope: grant.scope,
      validUntil,
      revoked: false,
      expires: validUntil + ENDED_TOKEN_MEMORY_MS,
      ...(grant.appContext ? { appContext: grant.appContext } : {}),
    });
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json({
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: lifetime,
      scope: grant.scope,
      patient: grant.patient,
      need_patient_banner: true,
      ...(grant.appContext ? { appContext: grant.appContext } : {}),
    });
  });

  // RFC 7009: always 200, whether or not the token was known.
  router.post('/revoke', (req, res) => {
    const token = str((req.body as Record<string, unknown> | undefined)?.token);
    const known = token ? tokens.get(token) : undefined;
    if (known) known.revoked = true;
    res.status(200).end();
  });

  const guard: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    // The embedded server is an open demo server: a request without a token, or with one this server did not
    // issue (a CDS client's fhirAuthorization in tests and curl examples), is served as before. Tokens it issued
    // are held to their lifetime, revocation and patient.
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const token = m?.[1] ? tokens.get(m[1]) : undefined;
    if (!token) return next();
    if (token.revoked || now() >= token.validUntil) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new HttpProblem(
        401,
        operationOutcome('login', 'The access token has expired or was revoked: launch the app again.'),
      );
    }
    if (req.path === '/metadata' || req.path.startsWith('/.well-known/')) return next();
    if (req.method !== 'GET' || !inCompartment(req, token)) {
      throw new HttpProblem(
        403,
        operationOutcome(
          'forbidden',
          'This token reads only its own patient: Patient read and searches of the granted types by patient.',
        ),
      );
    }
    next();
  };

  return { wellKnown, router, guard, createLaunch };
}

/** Does a GET stay inside the token's patient compartment and its granted resource types? */
function inCompartment(req: Request, token: Token): boolean {
  const scopes = token.scope.split(' ');
  const may = (type: string) => scopes.some((s) => new RegExp(`^patient/(${type}|\\*)\\.(read|rs|r|s)$`).test(s));
  const segments = req.path.split('/').filter(Boolean);
  if (segments[0] === 'Patient' && segments.length === 2) return may('Patient') && segments[1] === token.patient;
  // A search of a granted type, restricted to the token's patient (what the app's reads all are).
  if (segments.length === 1 && /^[A-Z][A-Za-z]+$/.test(segments[0] ?? '') && segments[0] !== 'Patient') {
    if (!may(segments[0] as string)) return false;
    const refs = ['patient', 'subject']
      .flatMap((p) => [req.query[p]].flat())
      .filter((v): v is string => typeof v === 'string');
    return refs.length > 0 && refs.every((r) => r === token.patient || r === `Patient/${token.patient}`);
  }
  return false;
}

function sendPicker(
  res: Response,
  q: Record<string, string | undefined>,
  patients: { id: string; label: string }[],
): void {
  const hidden = Object.entries(q)
    .filter(([k, v]) => v !== undefined && k !== 'patient')
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v as string)}">`)
    .join('\n');
  const options = patients
    .map(
      (p, i) =>
        `<li><label><input type="radio" name="patient" value="${escapeHtml(p.id)}"${i === 0 ? ' checked' : ''}> ${escapeHtml(p.label)}</label></li>`,
    )
    .join('\n');
  res
    .status(200)
    .type('html')
    .set({
      'Cache-Control': 'no-store',
      'Content-Security-Policy':
        "default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; frame-ancestors 'self'",
    })
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Choose a patient · Crosstalk demo sign-in</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/demo/ehr.css"></head>
<body class="picker"><main>
<h1>Choose a patient</h1>
<p>The Crosstalk app asks to read one patient's record (standalone launch). This demo sign-in approves it for the patient you choose.</p>
<form method="get" action="authorize">
${hidden}
<fieldset><legend>Demo patients</legend><ul>${options}</ul></fieldset>
<button type="submit">Open the app for this patient</button>
</form></main></body></html>`);
}
