import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import serviceFile from '../cds-hooks/services/bone-muscle-patient-view.json';
import { SQLITE_FILE_NAME } from '../src/store/sqlite';
import { freshPostgresDatabase } from './support/databases';
import {
  expectOperationOutcome,
  expectValidCdsResponse,
  hookRequest,
  SERVICE_ID,
  startCrosstalk,
  startFaultProxy,
} from './support/harness';
import { sample } from './support/prometheus';
import { startTcpProxy } from './support/tcp-proxy';

const call = (url: string, body: unknown) =>
  request(url)
    .post(`/cds-services/${SERVICE_ID}`)
    .set('content-type', 'application/json')
    .send(body as object);

describe('readiness on SQLite', () => {
  it('is ready once started, and not ready when the database file is gone, while still alive', async () => {
    const ct = await startCrosstalk();
    try {
      expect((await request(ct.url).get('/readyz').expect(200)).body).toEqual({ status: 'ready', store: 'sqlite' });
      fs.rmSync(path.join(ct.dataDir, SQLITE_FILE_NAME));
      const res = await request(ct.url).get('/readyz').expect(503);
      expectOperationOutcome(res.body);
      expect(res.body.issue[0].details.text).toBe('The store is unreachable.');
      await request(ct.url).get('/healthz').expect(200);
      expect(ct.logs.text).toContain('store unreachable: not ready');
    } finally {
      await ct.close();
    }
  });
});

describe('with PostgreSQL going away and coming back', () => {
  let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let ct: Awaited<ReturnType<typeof startCrosstalk>>;

  beforeAll(async () => {
    db = await freshPostgresDatabase();
    const u = new URL(db.url);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) });
    u.host = `127.0.0.1:${proxy.port}`;
    ct = await startCrosstalk({ DATABASE_URL: u.toString() });
  });
  afterAll(async () => {
    await ct?.close();
    await proxy?.close();
    await db?.drop();
  });

  it('is ready, then not ready while the database is unreachable, then ready again', async () => {
    expect((await request(ct.url).get('/readyz').expect(200)).body).toEqual({ status: 'ready', store: 'postgres' });
    await proxy.cut();
    const down = await request(ct.url).get('/readyz').expect(503);
    expectOperationOutcome(down.body);
    await request(ct.url).get('/healthz').expect(200);
    await proxy.restore();
    await request(ct.url).get('/readyz').expect(200);
  });

  it('answers 503 without cards to a call it cannot audit, and 503 to feedback it cannot store', async () => {
    const ok = await call(ct.url, hookRequest('demo-low-ccr', { fhirServer: `${ct.url}/fhir` })).expect(200);
    expectValidCdsResponse(ok.body);
    const card = ok.body.cards[0];
    await proxy.cut();
    try {
      const res = await call(ct.url, hookRequest('demo-low-ccr', { fhirServer: `${ct.url}/fhir` })).expect(503);
      expectOperationOutcome(res.body);
      expect(res.body.cards).toBeUndefined();
      const fb = await request(ct.url)
        .post(`/cds-services/${SERVICE_ID}/feedback`)
        .set('content-type', 'application/json')
        .send({
          feedback: [
            {
              card: card.uuid,
              outcome: 'accepted',
              acceptedSuggestions: [{ id: card.suggestions[0].uuid }],
              outcomeTimestamp: new Date().toISOString(),
            },
          ],
        })
        .expect(503);
      expectOperationOutcome(fb.body);
      const metrics = (await request(ct.url).get('/metrics').expect(200)).text;
      expect(sample(metrics, 'crosstalk_audit_write_failures_total')).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.restore();
    }
    expectValidCdsResponse(
      (await call(ct.url, hookRequest('demo-low-ccr', { fhirServer: `${ct.url}/fhir` })).expect(200)).body,
    );
  });
});

describe('Prometheus metrics', () => {
  let ct: Awaited<ReturnType<typeof startCrosstalk>>;
  beforeAll(async () => {
    ct = await startCrosstalk();
  });
  afterAll(async () => {
    await ct?.close();
  });

  const scrape = async () => {
    const res = await request(ct.url).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    return res.text;
  };

  it('count requests, FHIR reads, cards and feedback as traffic comes in', async () => {
    const service = { service: SERVICE_ID };
    const before = await scrape();

    const ok = await call(ct.url, hookRequest('demo-low-ccr', { fhirServer: `${ct.url}/fhir` })).expect(200);
    expectValidCdsResponse(ok.body);
    const card = ok.body.cards[0];
    const proxy = await startFaultProxy(`${ct.url}/fhir`, (req) =>
      (req.url ?? '').includes('Observation') ? { status: 500 } : 'pass',
    );
    try {
      expectOperationOutcome(
        (await call(ct.url, hookRequest('demo-low-ccr', { fhirServer: proxy.fhirBase })).expect(412)).body,
      );
    } finally {
      await proxy.close();
    }
    await request(ct.url)
      .post(`/cds-services/${SERVICE_ID}/feedback`)
      .set('content-type', 'application/json')
      .send({
        feedback: [
          {
            card: card.uuid,
            outcome: 'accepted',
            acceptedSuggestions: [{ id: card.suggestions[0].uuid }],
            outcomeTimestamp: new Date().toISOString(),
          },
        ],
      })
      .expect(200);
    await request(ct.url).get('/cds-services').expect(200);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(
      delta('crosstalk_http_request_duration_seconds_count', { endpoint: 'call', ...service, status: '200' }),
    ).toBe(1);
    expect(
      delta('crosstalk_http_request_duration_seconds_count', { endpoint: 'call', ...service, status: '412' }),
    ).toBe(1);
    expect(
      delta('crosstalk_http_request_duration_seconds_count', { endpoint: 'feedback', ...service, status: '200' }),
    ).toBe(1);
    expect(delta('crosstalk_http_request_duration_seconds_count', { endpoint: 'discovery', status: '200' })).toBe(1);
    expect(
      delta('crosstalk_http_request_duration_seconds_sum', { endpoint: 'call', ...service, status: '200' }),
    ).toBeGreaterThan(0);
    // Every prefetch key is read for the good call; for the faulty one the Observation searches answer 500
    // and the other reads succeed.
    const templates = Object.values(serviceFile.discovery.prefetch) as string[];
    const observationKeys = templates.filter((t) => t.startsWith('Observation')).length;
    expect(delta('crosstalk_fhir_fetch_duration_seconds_count', { outcome: 'ok' })).toBe(
      templates.length + (templates.length - observationKeys),
    );
    expect(delta('crosstalk_fhir_fetch_duration_seconds_count', { outcome: 'http_500' })).toBe(observationKeys);
    expect(delta('crosstalk_fhir_fetch_errors_total', { outcome: 'http_500' })).toBe(observationKeys);
    expect(delta('crosstalk_cards_total', { ...service, rule: 'low-ccr', indicator: 'info' })).toBe(1);
    expect(delta('crosstalk_feedback_total', { ...service, rule: 'low-ccr', outcome: 'accepted' })).toBe(1);
    // Process metrics come along for the operators.
    expect(sample(after, 'crosstalk_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('do not count a duplicate feedback entry twice', async () => {
    const ok = await call(ct.url, hookRequest('demo-missing-cystatin', { fhirServer: `${ct.url}/fhir` })).expect(200);
    expectValidCdsResponse(ok.body);
    const card = ok.body.cards[0];
    const entry = {
      card: card.uuid,
      outcome: 'overridden',
      overrideReason: { userComment: 'ordered elsewhere' },
      outcomeTimestamp: new Date().toISOString(),
    };
    const labels = { service: SERVICE_ID, rule: 'missing-ccr-input', outcome: 'overridden' };
    const before = sample(await scrape(), 'crosstalk_feedback_total', labels);
    for (let i = 0; i < 3; i++) {
      await request(ct.url)
        .post(`/cds-services/${SERVICE_ID}/feedback`)
        .set('content-type', 'application/json')
        .send({ feedback: [entry, entry] })
        .expect(200);
    }
    expect(sample(await scrape(), 'crosstalk_feedback_total', labels) - before).toBe(1);
  });
});
