import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt, exportJWK, exportPKCS8 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildCrosstalk, spawnCrosstalk } from './support/child';
import {
  buildPrefetch,
  expectOperationOutcome,
  expectValidCdsResponse,
  hookRequest,
  SERVICE_ID,
  startCrosstalk,
} from './support/harness';
import { sample } from './support/prometheus';
import { makeKey, type SigningKey, sign } from './support/tokens';

/*
 * Crosstalk as hospital IT runs it: production mode in a process of its own, secrets read from mounted files,
 * metrics on a listener of their own, rate limits on the CDS port. Callers are real HTTP clients on distinct
 * loopback addresses (127.0.0.1 the EHR, 127.0.0.2 an attacker), so limits by address are tested as they work.
 */
const PUBLIC = 'https://cds.example.org';
const ISS = 'https://ehr.example.org';
const OTHER_ISS = 'https://other-ehr.example.org';
const DISCOVERY_AUD = `${PUBLIC}/cds-services`;
const SERVICE_AUD = `${PUBLIC}/cds-services/${SERVICE_ID}`;
const FAILED_AUTH_PER_MIN = 20;
const CLIENT_PER_MIN = 15;
const METRICS_TOKEN = `metrics-${randomUUID()}-${randomUUID()}`;
const bin = path.resolve(__dirname, '../bin/crosstalk.js');
// Each child compiles TypeScript on start: slow on a loaded machine.
const CHILD_MS = 60_000;

let dir: string;
let ehrKey: SigningKey;
let otherKey: SigningKey;
let attackerKey: SigningKey;
let clientsFile: string;
let pemFile: string;
let prefetch: Record<string, unknown>;
let ct: ChildCrosstalk;
let metricsUrl: string;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One HTTP request from a chosen local address (supertest cannot choose one). */
function send(
  base: string,
  o: { method?: string; path: string; headers?: Record<string, string>; body?: unknown; from?: string },
): Promise<Answer> {
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${o.path}`,
      {
        method: o.method ?? 'GET',
        localAddress: o.from ?? '127.0.0.1',
        agent: false,
        headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(o.headers ?? {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const discovery = (auth: string, from?: string, headers: Record<string, string> = {}) =>
  send(ct.url, {
    path: '/cds-services',
    headers: { authorization: `Bearer ${auth}`, ...headers },
    ...(from ? { from } : {}),
  });

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '' } }, (e, stdout, stderr) =>
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const logLines = () =>
  ct
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-prod-ops-'));
  [ehrKey, otherKey, attackerKey] = await Promise.all([makeKey('ES384'), makeKey('ES384'), makeKey('ES384')]);
  clientsFile = path.join(dir, 'clients.json');
  fs.writeFileSync(
    clientsFile,
    JSON.stringify({
      clients: [
        { iss: ISS, jwks: { keys: [ehrKey.publicJwk] }, fhirServerOrigins: [] },
        { iss: OTHER_ISS, jwks: { keys: [otherKey.publicJwk] }, fhirServerOrigins: [] },
      ],
    }),
  );
  pemFile = path.join(dir, 'ehr-private.pem');
  fs.writeFileSync(pemFile, await exportPKCS8(ehrKey.privateKey), { mode: 0o600 });
  // Mounted secrets end with a newline, as `kubectl create secret --from-file` and `echo >` leave them.
  const secret = (name: string, value: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, `${value}\n`, { mode: 0o600 });
    return f;
  };
  const fhirHost = await startCrosstalk();
  try {
    prefetch = await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-low-ccr');
  } finally {
    await fhirHost.close();
  }
  ct = await spawnCrosstalk(
    {
      CROSSTALK_DEV_MODE: 'false',
      CROSSTALK_TRUSTED_CLIENTS: clientsFile,
      CROSSTALK_AUDIT_HMAC_KEY_FILE: secret('audit-key', `audit-${randomUUID()}-${randomUUID()}`),
      CROSSTALK_METRICS_TOKEN_FILE: secret('metrics-token', METRICS_TOKEN),
      CROSSTALK_METRICS_PORT: '0',
      CROSSTALK_RATE_LIMIT_FAILED_AUTH_PER_MIN: String(FAILED_AUTH_PER_MIN),
      CROSSTALK_RATE_LIMIT_CLIENT_PER_MIN: String(CLIENT_PER_MIN),
      CROSSTALK_DATA_DIR: path.join(dir, 'data'),
      PUBLIC_BASE_URL: PUBLIC,
    },
    CHILD_MS,
  );
  const announced = logLines().find((l) => typeof l.metricsUrl === 'string');
  metricsUrl = announced?.metricsUrl as string;
}, CHILD_MS * 2);

afterAll(async () => {
  if (ct) {
    ct.child.kill('SIGTERM');
    await ct.exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('metrics in production mode', () => {
  it('are not on the CDS port: /metrics there answers 404', async () => {
    const res = await send(ct.url, { path: '/metrics' });
    expect(res.status).toBe(404);
    expectOperationOutcome(JSON.parse(res.text));
  });

  it('are served on their own loopback listener, only with the token read from its secret file', async () => {
    expect(new URL(metricsUrl).hostname).toBe('127.0.0.1');
    expect(new URL(metricsUrl).port).not.toBe(new URL(ct.url).port);
    const none = await send(metricsUrl, { path: '/metrics' });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expectOperationOutcome(JSON.parse(none.text));
    expect((await send(metricsUrl, { path: '/metrics', headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await send(metricsUrl, { path: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(sample(ok.text, 'crosstalk_process_resident_memory_bytes')).toBeGreaterThan(0);
    // Nothing else is served there: the CDS endpoints stay on their own port.
    expect((await send(metricsUrl, { path: '/cds-services' })).status).toBe(404);
  });
});

describe('rate limits', () => {
  it(
    "turn a flood of forged tokens away with 429 and Retry-After, unverified, while a trusted client's calls succeed",
    async () => {
      // Forged: the trusted issuer, the right audience and kid, signed with a key the EHR never had.
      const forged = await sign({ iss: ISS, aud: DISCOVERY_AUD, key: attackerKey, kid: ehrKey.kid });
      const flood: Answer[] = [];
      const attacker = async () => {
        for (let i = 0; i < 10; i++)
          // A spoofed X-Forwarded-For changes nothing: no proxy is trusted, so the socket's address counts.
          flood.push(await discovery(forged, '127.0.0.2', { 'x-forwarded-for': `198.51.100.${i}` }));
      };
      const trusted: number[] = [];
      const ehr = async () => {
        for (let i = 0; i < 6; i++) {
          trusted.push((await discovery(await sign({ iss: ISS, aud: DISCOVERY_AUD, key: ehrKey }))).status);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      await Promise.all([...Array.from({ length: 15 }, attacker), ehr()]);

      expect(trusted).toEqual([200, 200, 200, 200, 200, 200]);
      const statuses = flood.map((a) => a.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(FAILED_AUTH_PER_MIN);
      const throttled = flood.filter((a) => a.status === 429);
      expect(throttled).toHaveLength(flood.length - FAILED_AUTH_PER_MIN);
      for (const a of throttled) {
        expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(Number(a.headers['retry-after'])).toBeLessThanOrEqual(60);
        const oo = JSON.parse(a.text);
        expectOperationOutcome(oo);
        expect(oo.issue[0].code).toBe('throttled');
      }
      // Only the allowance was verified (and logged); the rest were refused before any signature check.
      const failed = logLines().filter((l) => l.event === 'auth-failed');
      expect(failed).toHaveLength(FAILED_AUTH_PER_MIN);
      const limited = logLines().filter((l) => l.event === 'rate-limited' && l.limit === 'failed-auth');
      expect(limited).toHaveLength(1);
      expect(limited[0]?.address).toMatch(/127\.0\.0\.2$/);
      const metrics = await send(metricsUrl, {
        path: '/metrics',
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(
        sample(metrics.text, 'crosstalk_http_request_duration_seconds_count', { endpoint: 'discovery', status: '429' }),
      ).toBe(throttled.length);
    },
    CHILD_MS,
  );

  it('hold each trusted client to its allowance per minute, without touching another client', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < CLIENT_PER_MIN + 2; i++)
      answers.push(await discovery(await sign({ iss: OTHER_ISS, aud: DISCOVERY_AUD, key: otherKey }), '127.0.0.3'));
    expect(answers.map((a) => a.status)).toEqual([...Array<number>(CLIENT_PER_MIN).fill(200), 429, 429]);
    expect(Number(answers.at(-1)?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expectOperationOutcome(JSON.parse(answers.at(-1)?.text ?? '{}'));
    expect((await discovery(await sign({ iss: ISS, aud: DISCOVERY_AUD, key: ehrKey }), '127.0.0.3')).status).toBe(200);
  });
});

describe('crosstalk token', () => {
  it(
    'mints a token from the client’s private key file that the running production service accepts',
    async () => {
      const minted = await cli([
        'token',
        '--iss',
        ISS,
        '--url',
        SERVICE_AUD,
        '--key-file',
        pemFile,
        '--trusted-clients',
        clientsFile,
      ]);
      expect(minted.stderr).toBe('');
      expect(minted.code).toBe(0);
      // Only the token: `curl -H "Authorization: Bearer $(crosstalk token …)"` works as it stands.
      expect(minted.stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
      const token = minted.stdout.trim();
      const claims = decodeJwt(token);
      expect(claims).toMatchObject({ iss: ISS, aud: SERVICE_AUD });
      expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(300);
      const res = await send(ct.url, {
        method: 'POST',
        path: `/cds-services/${SERVICE_ID}`,
        headers: { authorization: `Bearer ${token}` },
        body: hookRequest('demo-low-ccr', { prefetch }),
      });
      expect(res.status).toBe(200);
      expectValidCdsResponse(JSON.parse(res.text));
    },
    CHILD_MS,
  );

  it(
    'mints from a development key given on the command line, with a fresh jti each time',
    async () => {
      const jwk = JSON.stringify({ ...(await exportJWK(otherKey.privateKey)), kid: otherKey.kid });
      const args = [
        'token',
        '--iss',
        OTHER_ISS,
        '--url',
        `${DISCOVERY_AUD}?x=1`,
        '--key',
        jwk,
        '--trusted-clients',
        clientsFile,
      ];
      const [a, b] = await Promise.all([cli(args), cli(args)]);
      expect([a.code, b.code]).toEqual([0, 0]);
      const [ja, jb] = [decodeJwt(a.stdout.trim()), decodeJwt(b.stdout.trim())];
      expect(ja.aud).toBe(DISCOVERY_AUD);
      expect(ja.jti).not.toBe(jb.jti);
    },
    CHILD_MS,
  );

  it(
    'refuses an issuer that is not a trusted client, or a key that is not the client’s, printing no token',
    async () => {
      const stranger = await cli([
        'token',
        '--iss',
        'https://stranger.example.org',
        '--url',
        SERVICE_AUD,
        '--key-file',
        pemFile,
        '--trusted-clients',
        clientsFile,
      ]);
      expect(stranger.code).toBe(1);
      expect(stranger.stdout).toBe('');
      expect(stranger.stderr).toContain('https://stranger.example.org is not a trusted client');
      const wrongKey = await cli([
        'token',
        '--iss',
        OTHER_ISS,
        '--url',
        SERVICE_AUD,
        '--key-file',
        pemFile,
        '--trusted-clients',
        clientsFile,
      ]);
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stdout).toBe('');
      expect(wrongKey.stderr).toContain('is not among');
      expect(wrongKey.stderr).not.toContain('PRIVATE KEY');
    },
    CHILD_MS,
  );
});
