import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPrefetch, expectValidCdsResponse, SERVICE_ID, startCrosstalk } from './support/harness';

/*
 * Thousands of malformed and hostile requests against the real service (development mode, so the
 * bodies reach validation; the JWT path has its own negative suite). None may produce a 5xx or a crash.
 */
let ct: Awaited<ReturnType<typeof startCrosstalk>>;
let patientResource: object;

beforeAll(async () => {
  ct = await startCrosstalk();
  patientResource = (await buildPrefetch(`${ct.url}/fhir`, 'demo-low-ccr')).patient as object;
});
afterAll(async () => {
  await ct?.close();
});

const post = (body: string, type = 'application/json') =>
  request(ct.url).post(`/cds-services/${SERVICE_ID}`).set('content-type', type).send(body);

function expectFourXxOutcome(res: { status: number; headers: Record<string, string>; text: string }): void {
  expect(res.status, res.text.slice(0, 300)).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.headers['content-type']).toContain('application/fhir+json');
  expect(JSON.parse(res.text).resourceType).toBe('OperationOutcome');
}

const notOurHook = fc.anything().filter((h) => h !== 'patient-view');
const keys = ['patient', 'creatinine', 'cystatinC', 'insulin', 'glucose'];

describe('hostile input', () => {
  it('answers every malformed JSON body with a 4xx OperationOutcome', async () => {
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          hook: notOurHook,
          hookInstance: fc.anything(),
          context: fc.anything(),
          prefetch: fc.anything(),
          fhirServer: fc.anything(),
          fhirAuthorization: fc.anything(),
          extension: fc.anything(),
        },
        { requiredKeys: [] },
      ),
      fc.record(
        {
          hook: fc.constant('patient-view'),
          hookInstance: fc.uuid(),
          context: fc.record(
            {
              userId: fc.oneof(fc.string(), fc.constant('Practitioner/x')),
              patientId: fc.oneof(fc.string(), fc.constant('demo-low-ccr'), fc.anything()),
            },
            { requiredKeys: [] },
          ),
          fhirServer: fc.oneof(
            fc.webUrl(),
            fc.string(),
            fc.constant('http://169.254.169.254/'),
            fc.constant('file:///etc/passwd'),
          ),
          prefetch: fc.dictionary(fc.constantFrom(...keys, '__proto__', 'constructor'), fc.anything()),
        },
        { requiredKeys: ['hook', 'hookInstance', 'context'] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        expectFourXxOutcome(await post(JSON.stringify(b)));
      }),
      { numRuns: 1500 },
    );
  }, 120_000);

  it('answers every broken byte stream with a 4xx OperationOutcome', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.json().map((j) => j.slice(0, Math.max(1, j.length - 1))),
        ),
        async (raw) => {
          const res = await post(raw);
          if (res.status === 200) return; // a truncation can still be valid JSON of a valid request: not malformed
          expectFourXxOutcome(res);
        },
      ),
      { numRuns: 500 },
    );
  }, 60_000);

  it('never fails with a 5xx on hostile resources inside an otherwise valid request', async () => {
    const hostileResource = fc.oneof(
      fc.anything(),
      fc.record(
        {
          resourceType: fc.constantFrom('Observation', 'OperationOutcome', 'Bundle', 'Patient', 'Specimen'),
          id: fc.oneof(fc.string(), fc.constant('ok-id'), fc.anything()),
          status: fc.oneof(fc.constantFrom('final', 'amended', 'preliminary'), fc.anything()),
          code: fc.oneof(
            fc.anything(),
            fc.constant({ coding: [{ system: 'http://loinc.org', code: '2160-0' }] }),
            fc.record({ coding: fc.anything() }),
          ),
          subject: fc.anything(),
          effectiveDateTime: fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.string(),
            fc.anything(),
          ),
          valueQuantity: fc.oneof(
            fc.anything(),
            fc.record(
              {
                value: fc.oneof(fc.double(), fc.anything()),
                code: fc.oneof(fc.constantFrom('mg/dL', 'umol/L', 'mg/L', '{x}', 'mg/dL{<script>}'), fc.string()),
                comparator: fc.anything(),
              },
              { requiredKeys: [] },
            ),
          ),
          contained: fc.anything(),
          specimen: fc.anything(),
          issue: fc.anything(),
          entry: fc.anything(),
          link: fc.anything(),
        },
        { requiredKeys: ['resourceType'] },
      ),
    );
    const bundle = fc.record(
      {
        resourceType: fc.constant('Bundle'),
        type: fc.constant('searchset'),
        entry: fc.oneof(fc.array(fc.record({ resource: hostileResource })), fc.anything()),
        link: fc.anything(),
      },
      { requiredKeys: ['resourceType'] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({ creatinine: bundle, cystatinC: bundle, insulin: bundle, glucose: bundle }),
        async (searches) => {
          const res = await post(
            JSON.stringify({
              hook: 'patient-view',
              hookInstance: 'fuzz',
              context: { userId: 'Practitioner/x', patientId: 'demo-low-ccr' },
              prefetch: { patient: patientResource, ...searches },
            }),
          );
          expect(res.status, res.text.slice(0, 300)).toBeLessThan(500);
          if (res.status === 200) expectValidCdsResponse(res.body);
          else expectFourXxOutcome(res);
        },
      ),
      { numRuns: 500 },
    );
  }, 120_000);

  it('judges each hostile draft order on its own: an order-sign call with a readable patient always answers 200', async () => {
    const hostileOrder = fc.record(
      {
        resourceType: fc.constantFrom('MedicationRequest', 'ServiceRequest', 'Medication', 'NutritionOrder'),
        id: fc.oneof(fc.string(), fc.constant('a'.repeat(200)), fc.constant('x/../y'), fc.anything()),
        status: fc.oneof(fc.constant('draft'), fc.anything()),
        intent: fc.anything(),
        subject: fc.anything(),
        category: fc.anything(),
        medicationCodeableConcept: fc.oneof(
          fc.anything(),
          fc.constant({ coding: { system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '8640' } }),
        ),
        medicationReference: fc.anything(),
        dosageInstruction: fc.anything(),
        dispenseRequest: fc.anything(),
        contained: fc.anything(),
        code: fc.anything(),
      },
      { requiredKeys: ['resourceType'] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ fullUrl: fc.option(fc.string(), { nil: undefined }), resource: hostileOrder }), {
          maxLength: 5,
        }),
        async (entry) => {
          const res = await request(ct.url)
            .post('/cds-services/bone-muscle-order-sign')
            .set('content-type', 'application/json')
            .send(
              JSON.stringify({
                hook: 'order-sign',
                hookInstance: 'fuzz-orders',
                context: {
                  userId: 'Practitioner/x',
                  patientId: 'demo-low-ccr',
                  draftOrders: { resourceType: 'Bundle', entry },
                },
                prefetch: { patient: patientResource },
              }),
            );
          expect(res.status, res.text.slice(0, 300)).toBe(200);
          expectValidCdsResponse(res.body);
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);

  it('logged no unhandled error during all of it', () => {
    expect(ct.logs.text).not.toContain('unhandled error');
  });
});
