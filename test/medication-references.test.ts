import { randomUUID } from 'node:crypto';
import type { Bundle, Medication, MedicationRequest } from 'fhir/r4';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPrefetch,
  everyAnswerValid,
  hookRequest,
  PREFETCH_TEMPLATES,
  ruleIds,
  SERVICE_ID,
  startCrosstalk,
  startFaultProxy,
} from './support/harness';

/*
 * Orders that point at a Medication of their own (`Medication/123`), as most EHRs send product orders. The
 * Medication comes with the prefetch when the EHR honours `_include=MedicationRequest:medication`; otherwise the
 * service reads it from fhirServer with the EHR's token. Real HTTP throughout: a demo-seeded FHIR host, and a
 * recording proxy in front of it that can also refuse the read.
 */

const PATIENT = 'demo-steroid-young';
const MEDICATION = 'Medication/demo-steroid-young-medrol';
const TOKEN = {
  access_token: 'ehr-token-for-medication-reads',
  token_type: 'Bearer',
  expires_in: 300,
  scope: 'patient/Medication.rs',
  subject: 'crosstalk',
};

let fhirHost: Awaited<ReturnType<typeof startCrosstalk>>;
let ct: Awaited<ReturnType<typeof startCrosstalk>>;
const proxies: { close: () => Promise<void> }[] = [];
const target = () => `${fhirHost.url}/fhir`;
const call = (body: object) =>
  request(ct.url)
    .post(`/cds-services/${SERVICE_ID}`)
    .set('content-type', 'application/json')
    .send(body)
    .expect(everyAnswerValid);

async function proxy(fault: Parameters<typeof startFaultProxy>[1] = () => 'pass') {
  const p = await startFaultProxy(target, fault);
  proxies.push(p);
  return p;
}

/** The prefetch of an EHR that ignores _include: the orders come, the Medications they point at do not. */
async function prefetchWithoutInclude(): Promise<Record<string, unknown>> {
  const templates = Object.fromEntries(
    Object.entries(PREFETCH_TEMPLATES).map(([k, t]) => [k, t.replace(/&_include=[^&]*/g, '')]),
  );
  const prefetch = await buildPrefetch(target(), PATIENT, templates);
  const meds = JSON.stringify(prefetch.medicationRequests);
  expect(meds).toContain(`"reference":"${MEDICATION}"`);
  expect(meds).not.toContain('"resourceType":"Medication"');
  return prefetch;
}

beforeAll(async () => {
  fhirHost = await startCrosstalk();
  ct = await startCrosstalk({
    CROSSTALK_EMBEDDED_FHIR: 'false',
    CROSSTALK_FHIR_TIMEOUT_MS: '5000',
    CROSSTALK_REQUEST_BUDGET_MS: '8000',
  });
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await ct?.close();
  await fhirHost?.close();
});

describe('an order that points at a Medication of its own', () => {
  it('is read with the Medication that _include put in the prefetch, and nothing is read from fhirServer', async () => {
    const prefetch = await buildPrefetch(target(), PATIENT);
    expect(JSON.stringify(prefetch.medicationRequests)).toContain('"resourceType":"Medication"');
    const fhir = await proxy();
    const res = await call(
      hookRequest(PATIENT, { prefetch, fhirServer: fhir.fhirBase, fhirAuthorization: TOKEN }),
    ).expect(200);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    expect(JSON.stringify(res.body.cards[0])).toMatch(/RxNorm 259966/);
    expect(fhir.requests).toEqual([]);
  });

  it('has its Medication read from fhirServer with the EHR’s token when the prefetch lacks it, and fires the card it fired before', async () => {
    const prefetch = await prefetchWithoutInclude();
    const fhir = await proxy();
    const res = await call(
      hookRequest(PATIENT, { prefetch, fhirServer: fhir.fhirBase, fhirAuthorization: TOKEN }),
    ).expect(200);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    expect(fhir.requests).toEqual([
      { method: 'GET', url: `/fhir/${MEDICATION}`, authorization: `Bearer ${TOKEN.access_token}` },
    ]);
  });

  it('is read through _include when the service reads the record from fhirServer itself', async () => {
    const fhir = await proxy();
    const res = await call(hookRequest(PATIENT, { fhirServer: fhir.fhirBase, fhirAuthorization: TOKEN })).expect(200);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    const reads = fhir.requests.map((r) => decodeURIComponent(r.url));
    expect(
      reads.some(
        (u) => u.startsWith('/fhir/MedicationRequest?') && u.includes('_include=MedicationRequest:medication'),
      ),
    ).toBe(true);
    expect(reads.filter((u) => u.startsWith('/fhir/Medication/'))).toEqual([]);
  });

  it('counts as a medicine that could not be read, never as no medicine, when its Medication cannot be had', async () => {
    const prefetch = await prefetchWithoutInclude();
    const refusing = await proxy((req) => ((req.url ?? '').startsWith('/fhir/Medication/') ? { status: 404 } : 'pass'));
    const res = await call(
      hookRequest(PATIENT, { prefetch, fhirServer: refusing.fhirBase, fhirAuthorization: TOKEN }),
    ).expect(200);
    expect(ruleIds(res.body)).toEqual([]);
    expect(refusing.requests.map((r) => r.url)).toEqual([`/fhir/${MEDICATION}`]);
    const noServer = await call(hookRequest(PATIENT, { prefetch })).expect(200);
    expect(ruleIds(noServer.body)).toEqual([]);
  });
});

describe('a draft order that points at a Medication of its own', () => {
  const UCUM = 'http://unitsofmeasure.org';
  const draft = (patientId: string): MedicationRequest => ({
    resourceType: 'MedicationRequest',
    id: 'draft-medrol',
    status: 'draft',
    intent: 'order',
    medicationReference: { reference: MEDICATION, display: 'Medrol 4 mg tablet' },
    subject: { reference: `Patient/${patientId}` },
    dosageInstruction: [
      {
        timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } },
        doseAndRate: [{ doseQuantity: { value: 2, unit: 'tablet', system: UCUM, code: '{tbl}' } }],
      },
    ],
    dispenseRequest: {
      numberOfRepeatsAllowed: 3,
      expectedSupplyDuration: { value: 30, unit: 'days', system: UCUM, code: 'd' },
    },
  });
  const sign = (patientId: string, draftOrders: Bundle, fhirServer: string) =>
    request(ct.url)
      .post('/cds-services/bone-muscle-order-sign')
      .set('content-type', 'application/json')
      .send({
        hook: 'order-sign',
        hookInstance: randomUUID(),
        fhirServer,
        fhirAuthorization: TOKEN,
        context: { userId: 'Practitioner/demo-clinician', patientId, draftOrders },
      })
      .expect(everyAnswerValid);

  it('has its Medication read from fhirServer at signing, and warns for the long course it orders', async () => {
    const fhir = await proxy();
    const res = await sign(
      'demo-normal',
      { resourceType: 'Bundle', type: 'collection', entry: [{ resource: draft('demo-normal') }] },
      fhir.fhirBase,
    ).expect(200);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    expect(fhir.requests.filter((r) => r.url.startsWith('/fhir/Medication/'))).toEqual([
      { method: 'GET', url: `/fhir/${MEDICATION}`, authorization: `Bearer ${TOKEN.access_token}` },
    ]);
  });

  it('takes the Medication sent beside it in draftOrders, and reads none', async () => {
    const med = (await (await fetch(`${target()}/${MEDICATION}`)).json()) as Medication;
    const fhir = await proxy();
    const res = await sign(
      'demo-normal',
      { resourceType: 'Bundle', type: 'collection', entry: [{ resource: draft('demo-normal') }, { resource: med }] },
      fhir.fhirBase,
    ).expect(200);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    expect(fhir.requests.filter((r) => r.url.startsWith('/fhir/Medication/'))).toEqual([]);
  });
});
