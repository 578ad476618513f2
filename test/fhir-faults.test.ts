import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_FILE_NAME } from '../src/store/sqlite';
import {
  buildPrefetch,
  everyAnswerValid,
  expectOperationOutcome,
  hookRequest,
  SERVICE_ID,
  startCrosstalk,
  startFaultProxy,
} from './support/harness';
import { sample } from './support/prometheus';

/*
 * FHIR servers that misbehave in ways a healthy one will not on demand: answers far too large, answers that
 * are not JSON, answers that never come while the EHR hangs up. Crosstalk reads them through real HTTP
 * proxies in front of a demo-seeded FHIR host, and keeps its audit trail and metrics in step throughout.
 */

const MB = 1024 * 1024;
const CREATININE = /code=[^&]*2160-0/;
const CYSTATIN = /code=[^&]*33863-2/;

let fhirHost: Awaited<ReturnType<typeof startCrosstalk>>;
let ct: Awaited<ReturnType<typeof startCrosstalk>>;
const proxies: { close: () => Promise<void> }[] = [];
const target = () => `${fhirHost.url}/fhir`;

async function proxy(fault: Parameters<typeof startFaultProxy>[1]) {
  const p = await startFaultProxy(target, fault);
  proxies.push(p);
  return p;
}

const call = (body: object) =>
  request(ct.url)
    .post(`/cds-services/${SERVICE_ID}`)
    .set('content-type', 'application/json')
    .send(body)
    .expect(everyAnswerValid);
const scrape = async () => (await request(ct.url).get('/metrics').expect(200)).text;
const issueCodes = (body: { issue: { code: string }[] }) => body.issue.map((i) => i.code);
const issueTexts = (body: { issue: { details?: { text?: string } }[] }) =>
  body.issue.map((i) => i.details?.text ?? '').join('\n');

beforeAll(async () => {
  fhirHost = await startCrosstalk();
  ct = await startCrosstalk({
    CROSSTALK_EMBEDDED_FHIR: 'false',
    CROSSTALK_FHIR_MAX_RESPONSE_BYTES: '1mb',
    CROSSTALK_FHIR_MAX_CALL_BYTES: '3mb',
    CROSSTALK_FHIR_TIMEOUT_MS: '2000',
    CROSSTALK_REQUEST_BUDGET_MS: '3000',
  });
  // Warm the FHIR host's search path so cold-start compilation is not mistaken for a slow server.
  await buildPrefetch(target(), 'demo-low-ccr');
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await ct?.close();
  await fhirHost?.close();
});

describe('a FHIR server that answers far too much', () => {
  it('is cut off at the per-answer cap while it streams 200 MB, and the required key is unavailable with the reason', async () => {
    const huge = await proxy((req) => (CREATININE.test(req.url ?? '') ? { streamBytes: 200 * MB } : 'pass'));
    const res = await call(hookRequest('demo-low-ccr', { fhirServer: huge.fhirBase })).expect(412);
    expectOperationOutcome(res.body);
    expect(issueCodes(res.body)).toContain('too-costly');
    expect(issueTexts(res.body)).toMatch(
      /an answer larger than the 1 MB cap per answer when reading "creatinine"; the read was cut off/,
    );
    const [stream] = huge.streams;
    // Crosstalk hung up: the server got rid of a few megabytes (socket buffers included), not 200.
    expect(stream?.cutByClient).toBe(true);
    expect(stream?.sent).toBeLessThan(16 * MB);
  });

  it('makes an optional key unavailable with the reason in the log, and still answers', async () => {
    const huge = await proxy((req) => (/\/Condition\?/.test(req.url ?? '') ? { streamBytes: 200 * MB } : 'pass'));
    await call(hookRequest('demo-low-ccr', { fhirServer: huge.fhirBase })).expect(200);
    expect(huge.streams[0]?.cutByClient).toBe(true);
    const line = ct.logs.lines
      .map(
        (l) => JSON.parse(l) as { event?: string; failures?: Record<string, string>; sources?: Record<string, string> },
      )
      .filter((l) => l.event === 'cds-call' && l.failures)
      .at(-1);
    expect(line?.failures).toEqual({ conditions: 'too-large' });
    expect(line?.sources?.conditions).toBe('unavailable');
  });

  it("stops every read once the call's total passes its cap, though each answer is under the per-answer cap", async () => {
    // 15 keys of 900 kB each: none passes 1 MB, together they pass 3 MB.
    const wide = await proxy((req) => (/\/Patient\//.test(req.url ?? '') ? 'pass' : { streamBytes: 900 * 1024 }));
    const res = await call(hookRequest('demo-low-ccr', { fhirServer: wide.fhirBase })).expect(412);
    expect(issueCodes(res.body)).toContain('too-costly');
    expect(issueTexts(res.body)).toMatch(/more than the 3 MB cap for all reads of one call/);
    const metrics = await scrape();
    expect(sample(metrics, 'crosstalk_fhir_fetch_errors_total', { outcome: 'too-large' })).toBeGreaterThanOrEqual(1);
  });
});

describe('a FHIR server that answers something other than JSON', () => {
  for (const [name, body, contentType] of [
    ['an HTML error page labelled as FHIR JSON', '<html><body>502 Bad Gateway</body></html>', 'application/fhir+json'],
    [
      'a truncated JSON body',
      '{"resourceType":"Bundle","type":"searchset","entry":[{"resource":',
      'application/fhir+json',
    ],
    ['an HTML page', '<html><body>Sign in</body></html>', 'text/html'],
  ] as const) {
    it(`is reported as invalid, not as unreachable: ${name}`, async () => {
      const p = await proxy((req) => (CYSTATIN.test(req.url ?? '') ? { body, contentType } : 'pass'));
      const res = await call(hookRequest('demo-low-ccr', { fhirServer: p.fhirBase })).expect(412);
      expect(issueCodes(res.body)).toEqual(['invalid']);
      expect(issueTexts(res.body)).toMatch(/fhirServer sent something other than FHIR JSON for "cystatinC"/);
    });
  }
});

/** Sends a hook call by hand: headers now, the body after `bodyAfterMs`; `abortAfter` hangs up once it resolves. */
function rawCall(body: object, opts: { bodyAfterMs?: number; abortWhen?: () => Promise<void> } = {}) {
  const u = new URL(`${ct.url}/cds-services/${SERVICE_ID}`);
  const text = JSON.stringify(body);
  return new Promise<{ status: number; ms: number } | 'hung-up'>((resolve, reject) => {
    const t0 = Date.now();
    const req = http.request(
      u,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0 }));
      },
    );
    req.on('error', (e) => (req.destroyed ? resolve('hung-up') : reject(e)));
    req.flushHeaders();
    setTimeout(() => req.end(text), opts.bodyAfterMs ?? 0);
    void opts.abortWhen?.().then(() => {
      req.destroy();
      resolve('hung-up');
    });
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 5000): Promise<number> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

describe('a call whose caller has gone', () => {
  it('aborts its outstanding FHIR reads when the EHR disconnects, and counts the call as aborted', async () => {
    const hang = await proxy(() => 'hang');
    const before = await scrape();
    const outcome = await rawCall(hookRequest('demo-low-ccr', { fhirServer: hang.fhirBase }), {
      abortWhen: () => until('the FHIR reads to start', () => hang.hangsOpen >= 5).then(() => undefined),
    });
    expect(outcome).toBe('hung-up');
    await until('the FHIR reads to be abandoned', () => hang.hangsOpen === 0);
    expect(hang.hangsAbandoned).toBeGreaterThanOrEqual(5);
    await until(
      'the call to be counted',
      async () =>
        sample(await scrape(), 'crosstalk_cds_calls_aborted_total', { reason: 'client-gone' }) >
        sample(before, 'crosstalk_cds_calls_aborted_total', { reason: 'client-gone' }),
    );
    // The call is counted by status only once its audit row is written, which may come a moment after the abort.
    await until('the call to be counted by status', async () => {
      const now = await scrape();
      return (
        sample(now, 'crosstalk_cds_calls_total', { service: SERVICE_ID, status: '499' }) >
          sample(before, 'crosstalk_cds_calls_total', { service: SERVICE_ID, status: '499' }) &&
        sample(now, 'crosstalk_http_request_duration_seconds_count', { endpoint: 'call', status: '499' }) >
          sample(before, 'crosstalk_http_request_duration_seconds_count', { endpoint: 'call', status: '499' }) &&
        sample(now, 'crosstalk_fhir_fetch_errors_total', { outcome: 'aborted' }) -
          sample(before, 'crosstalk_fhir_fetch_errors_total', { outcome: 'aborted' }) >=
          5
      );
    });
    const after = await scrape();
    expect(
      sample(after, 'crosstalk_cds_calls_total', { service: SERVICE_ID, status: '499' }) -
        sample(before, 'crosstalk_cds_calls_total', { service: SERVICE_ID, status: '499' }),
    ).toBe(1);
    // The reads stopped because the caller left (aborted), not because the 2 s FHIR time budget ran out (timeout).
    expect(
      sample(after, 'crosstalk_fhir_fetch_errors_total', { outcome: 'aborted' }) -
        sample(before, 'crosstalk_fhir_fetch_errors_total', { outcome: 'aborted' }),
    ).toBeGreaterThanOrEqual(5);
    expect(sample(after, 'crosstalk_fhir_fetch_errors_total', { outcome: 'timeout' })).toBe(
      sample(before, 'crosstalk_fhir_fetch_errors_total', { outcome: 'timeout' }),
    );
    expect(sample(after, 'crosstalk_http_request_duration_seconds_count', { endpoint: 'call', status: '499' })).toBe(
      sample(before, 'crosstalk_http_request_duration_seconds_count', { endpoint: 'call', status: '499' }) + 1,
    );
  });

  it('aborts its outstanding FHIR reads when the request budget runs out first, and answers 503', async () => {
    const hang = await proxy(() => 'hang');
    const before = await scrape();
    // The body arrives 1.5 s late, so the 2 s FHIR budget would run to 3.5 s: the 3 s request budget ends first.
    const outcome = await rawCall(hookRequest('demo-low-ccr', { fhirServer: hang.fhirBase }), { bodyAfterMs: 1500 });
    expect(outcome).toMatchObject({ status: 503 });
    await until('the FHIR reads to be abandoned', () => hang.requests.length > 0 && hang.hangsOpen === 0);
    await until(
      'the call to be counted',
      async () =>
        sample(await scrape(), 'crosstalk_cds_calls_aborted_total', { reason: 'time-budget' }) >
        sample(before, 'crosstalk_cds_calls_aborted_total', { reason: 'time-budget' }),
    );
    const after = await scrape();
    // Aborted by the call's end, not timed out by the FHIR budget.
    expect(
      sample(after, 'crosstalk_fhir_fetch_errors_total', { outcome: 'aborted' }) -
        sample(before, 'crosstalk_fhir_fetch_errors_total', { outcome: 'aborted' }),
    ).toBe(hang.requests.length);
    expect(sample(after, 'crosstalk_fhir_fetch_errors_total', { outcome: 'timeout' })).toBe(
      sample(before, 'crosstalk_fhir_fetch_errors_total', { outcome: 'timeout' }),
    );
  });
});

describe('the audit trail and the metrics', () => {
  it('agree on every call of this suite, status by status', async () => {
    // A few ordinary answers beside the faults above: a 200, a 400, a 415.
    await call(hookRequest('demo-low-ccr', { fhirServer: target() })).expect(200);
    await call({ hook: 'patient-view' }).expect(400);
    await request(ct.url)
      .post(`/cds-services/${SERVICE_ID}`)
      .set('content-type', 'text/plain')
      .send('hello')
      .expect(415);
    const db = new Database(path.join(ct.dataDir, SQLITE_FILE_NAME), { readonly: true });
    try {
      const audited = () =>
        Object.fromEntries(
          (
            db
              .prepare('SELECT status, COUNT(*) AS n FROM service_calls WHERE service_id = ? GROUP BY status')
              .all(SERVICE_ID) as { status: number; n: number }[]
          ).map((r) => [String(r.status), r.n]),
        );
      const counted = (metrics: string, name: string, labels: Record<string, string>) =>
        Object.fromEntries(
          Object.keys(audited()).map((status) => [status, sample(metrics, name, { ...labels, status })]),
        );
      let metrics = '';
      await until('audit and metrics to settle', async () => {
        metrics = await scrape();
        return (
          JSON.stringify(counted(metrics, 'crosstalk_cds_calls_total', { service: SERVICE_ID })) ===
          JSON.stringify(audited())
        );
      });
      const byStatus = audited();
      expect(Object.keys(byStatus).sort()).toEqual(['200', '400', '412', '415', '499', '503']);
      expect(counted(metrics, 'crosstalk_cds_calls_total', { service: SERVICE_ID })).toEqual(byStatus);
      // What went over the wire (or, for 499, did not) agrees too.
      expect(
        counted(metrics, 'crosstalk_http_request_duration_seconds_count', { endpoint: 'call', service: SERVICE_ID }),
      ).toEqual(byStatus);
    } finally {
      db.close();
    }
  });
});
