import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPrefetch,
  expectOperationOutcome,
  expectValidCdsResponse,
  SERVICE_ID,
  startCrosstalk,
} from './support/harness';

/*
 * The context prefetch keys (medications, conditions, DXA, CRP, BMI, vitamin D) and order-time
 * draftOrders carry EHR JSON of every shape. Whatever arrives, the answer is a valid response or a
 * 4xx OperationOutcome, never a 5xx.
 */
let ct: Awaited<ReturnType<typeof startCrosstalk>>;
let base: Record<string, unknown>;

beforeAll(async () => {
  ct = await startCrosstalk();
  base = await buildPrefetch(`${ct.url}/fhir`, 'demo-low-ccr');
});
afterAll(async () => {
  await ct?.close();
});

const TYPES = [
  'MedicationRequest',
  'MedicationStatement',
  'Condition',
  'DiagnosticReport',
  'ServiceRequest',
  'Observation',
  'Procedure',
  'Medication',
] as const;
const codeable = fc.oneof(
  fc.anything(),
  fc.record(
    {
      coding: fc.oneof(
        fc.anything(),
        fc.array(
          fc.record(
            {
              system: fc.oneof(
                fc.constantFrom(
                  'http://www.nlm.nih.gov/research/umls/rxnorm',
                  'http://snomed.info/sct',
                  'http://hl7.org/fhir/sid/icd-10-cm',
                  'http://www.whocc.no/atc',
                  'http://loinc.org',
                ),
                fc.anything(),
              ),
              code: fc.oneof(
                fc.constantFrom('8640', '3264', 'H02AB07', '34486009', 'E05.90', '38269-7', '38267-1', '1988-5'),
                fc.anything(),
              ),
            },
            { requiredKeys: [] },
          ),
        ),
      ),
      text: fc.anything(),
    },
    { requiredKeys: [] },
  ),
);
const resource = fc.record(
  {
    resourceType: fc.constantFrom(...TYPES),
    id: fc.oneof(fc.constant('r1'), fc.anything()),
    status: fc.oneof(fc.constantFrom('active', 'completed', 'final', 'draft'), fc.anything()),
    intent: fc.oneof(fc.constantFrom('order', 'plan', 'proposal'), fc.anything()),
    subject: fc.oneof(fc.constant({ reference: 'Patient/demo-low-ccr' }), fc.anything()),
    code: codeable,
    medicationCodeableConcept: codeable,
    medicationReference: fc.oneof(fc.constant({ reference: '#m1' }), fc.anything()),
    contained: fc.oneof(
      fc.anything(),
      fc.array(
        fc.record(
          {
            resourceType: fc.constant('Medication'),
            id: fc.constant('m1'),
            code: codeable,
            ingredient: fc.anything(),
            amount: fc.anything(),
          },
          { requiredKeys: [] },
        ),
      ),
    ),
    dosageInstruction: fc.oneof(
      fc.anything(),
      fc.array(
        fc.record(
          {
            route: codeable,
            timing: fc.anything(),
            doseAndRate: fc.oneof(fc.anything(), fc.array(fc.record({ doseQuantity: fc.anything() }))),
          },
          { requiredKeys: [] },
        ),
      ),
    ),
    dosage: fc.anything(),
    dispenseRequest: fc.anything(),
    authoredOn: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.anything(),
    ),
    effectivePeriod: fc.anything(),
    effectiveDateTime: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.anything(),
    ),
    clinicalStatus: codeable,
    verificationStatus: codeable,
    onsetDateTime: fc.anything(),
    valueQuantity: fc.anything(),
    category: fc.anything(),
  },
  { requiredKeys: ['resourceType'] },
);
const bundle = fc.record({
  resourceType: fc.constant('Bundle'),
  type: fc.constant('searchset'),
  entry: fc.array(fc.record({ resource }), { maxLength: 4 }),
});

describe('hostile context', () => {
  it('never fails with a 5xx on hostile medication, condition and DXA resources in prefetch', async () => {
    const keys = [
      'medicationRequests',
      'medicationStatements',
      'osteoporosisTherapy',
      'conditions',
      'dxa',
      'dxaReports',
      'dxaOrders',
      'crp',
      'bmi',
      'vitaminD',
    ];
    await fc.assert(
      fc.asyncProperty(fc.tuple(...keys.map(() => bundle)), async (bundles) => {
        const prefetch = { ...base, ...Object.fromEntries(keys.map((k, i) => [k, bundles[i]])) };
        const res = await request(ct.url)
          .post(`/cds-services/${SERVICE_ID}`)
          .send({
            hook: 'patient-view',
            hookInstance: 'fuzz',
            context: { userId: 'Practitioner/x', patientId: 'demo-low-ccr' },
            prefetch,
          });
        expect(res.status, res.text.slice(0, 400)).toBeLessThan(500);
        if (res.status === 200) expectValidCdsResponse(res.body);
        else expectOperationOutcome(res.body);
      }),
      { numRuns: 200 },
    );
  }, 120_000);

  it('never fails with a 5xx on hostile draftOrders at order-sign', async () => {
    await fc.assert(
      fc.asyncProperty(bundle, async (draftOrders) => {
        const res = await request(ct.url)
          .post('/cds-services/bone-muscle-order-sign')
          .send({
            hook: 'order-sign',
            hookInstance: 'fuzz',
            context: { userId: 'Practitioner/x', patientId: 'demo-low-ccr', draftOrders },
            prefetch: base,
          });
        expect(res.status, res.text.slice(0, 400)).toBeLessThan(500);
        if (res.status === 200) expectValidCdsResponse(res.body);
        else expectOperationOutcome(res.body);
      }),
      { numRuns: 200 },
    );
  }, 120_000);
});
