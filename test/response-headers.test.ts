import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookRequest, SERVICE_ID, startCrosstalk } from './support/harness';

let ct: Awaited<ReturnType<typeof startCrosstalk>>;
beforeAll(async () => {
  ct = await startCrosstalk();
});
afterAll(async () => {
  await ct?.close();
});

describe('every answer', () => {
  const answers: [string, () => request.Test][] = [
    ['discovery', () => request(ct.url).get('/cds-services')],
    [
      'a CDS call with cards',
      () =>
        request(ct.url)
          .post(`/cds-services/${SERVICE_ID}`)
          .send(hookRequest('demo-low-ccr', { fhirServer: `${ct.url}/fhir` }) as object),
    ],
    ['a refused CDS call (400)', () => request(ct.url).post(`/cds-services/${SERVICE_ID}`).send({ hook: 'nonsense' })],
    ['an unknown path (404)', () => request(ct.url).get('/no-such-path')],
    ['health', () => request(ct.url).get('/healthz')],
    ['readiness', () => request(ct.url).get('/readyz')],
    ['metrics', () => request(ct.url).get('/metrics')],
    ['the SMART launch configuration', () => request(ct.url).get('/app/config.json')],
  ];
  it.each(answers)('%s: is never stored by a cache and never sniffed by a browser', async (_name, send) => {
    const res = await send();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});
