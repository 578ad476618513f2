import { randomUUID } from 'node:crypto';
import { validateResource } from '@medplum/core';
import type { Bundle, Medication, MedicationRequest, ServiceRequest } from 'fhir/r4';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import selectFile from '../cds-hooks/services/bone-muscle-order-select.json';
import { loadServices } from '../src/cds/services';
import { withEpicIds } from './fixtures/epic-shaped';
import { SANDBOX_PREDNISONE, sandboxRxSign, sandboxRxView } from './fixtures/sandbox-rx';
import {
  buildPrefetch,
  callLog,
  expectOperationOutcome,
  expectValidCdsResponse,
  expectValidDiscovery,
  ruleIds,
  startCrosstalk,
} from './support/harness';

/*
 * order-select and order-sign over real HTTP, with draftOrders in the shapes EHRs send: medicationCodeableConcept
 * with several RxNorm codings, medicationReference to a contained Medication with strength, doseAndRate + timing
 * (repeat or a GTS code), dispenseRequest with supply and repeats. Patients come from the embedded demo FHIR server.
 */

let ct: Awaited<ReturnType<typeof startCrosstalk>>;
let fhir: string;
const NOW = Date.now();
const daysAgo = (d: number) => new Date(NOW - d * 86_400_000).toISOString();

const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const ATC = 'http://www.whocc.no/atc';
const SCT = 'http://snomed.info/sct';
const UCUM = 'http://unitsofmeasure.org';
const ORAL = { coding: [{ system: SCT, code: '26643006', display: 'Oral route' }], text: 'Oral' };

/** Prednisone as Epic-like systems send it: SCD and IN codings, mg dose, once daily, 30-day supply with refills. */
function prednisoneOrder(
  id: string,
  patientId: string,
  mg: number,
  refills: number,
  opts: { status?: MedicationRequest['status']; boundsDays?: number } = {},
): MedicationRequest {
  return {
    resourceType: 'MedicationRequest',
    id,
    status: opts.status ?? 'draft',
    intent: 'order',
    medicationCodeableConcept: {
      coding: [
        { system: RX, code: '312617', display: 'predniSONE 5 MG Oral Tablet' },
        { system: RX, code: '8640', display: 'prednisone' },
      ],
      text: `predniSONE ${mg} mg tablet`,
    },
    subject: { reference: `Patient/${patientId}` },
    requester: { reference: 'Practitioner/demo-clinician' },
    dosageInstruction: [
      {
        sequence: 1,
        text: `Take ${mg} mg by mouth daily`,
        timing: {
          repeat: {
            frequency: 1,
            period: 1,
            periodUnit: 'd',
            ...(opts.boundsDays
              ? { boundsDuration: { value: opts.boundsDays, unit: 'days', system: UCUM, code: 'd' } }
              : {}),
          },
        },
        route: ORAL,
        doseAndRate: [
          {
            type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/dose-rate-type', code: 'ordered' }] },
            doseQuantity: { value: mg, unit: 'mg', system: UCUM, code: 'mg' },
          },
        ],
      },
    ],
    dispenseRequest: {
      ...(opts.boundsDays
        ? {}
        : {
            numberOfRepeatsAllowed: refills,
            expectedSupplyDuration: { value: 30, unit: 'days', system: UCUM, code: 'd' },
          }),
      quantity: {
        value: 30,
        unit: 'tablet',
        system: 'http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm',
        code: 'TAB',
      },
    },
  };
}

/** Methylprednisolone by medicationReference to a contained Medication: 1 tablet twice a day (Timing.code BID), 180 tablets, 1 refill. */
function methylprednisoloneOrder(id: string, patientId: string): MedicationRequest {
  return {
    resourceType: 'MedicationRequest',
    id,
    status: 'draft',
    intent: 'order',
    contained: [
      <Medication>{
        resourceType: 'Medication',
        id: 'med1',
        code: { text: 'methylPREDNISolone 4 mg tablet' },
        form: { coding: [{ system: SCT, code: '385055001', display: 'Tablet' }] },
        ingredient: [
          {
            itemCodeableConcept: { coding: [{ system: RX, code: '6902', display: 'methylprednisolone' }] },
            isActive: true,
            strength: {
              numerator: { value: 4, unit: 'mg', system: UCUM, code: 'mg' },
              denominator: {
                value: 1,
                unit: 'tablet',
                system: 'http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm',
                code: 'TAB',
              },
            },
          },
        ],
      },
    ],
    medicationReference: { reference: '#med1', display: 'methylPREDNISolone 4 mg tablet' },
    subject: { reference: `Patient/${patientId}` },
    dosageInstruction: [
      {
        text: '1 tablet twice daily',
        timing: {
          code: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation', code: 'BID' }] },
        },
        route: ORAL,
        doseAndRate: [
          {
            doseQuantity: {
              value: 1,
              unit: 'tablet',
              system: 'http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm',
              code: 'TAB',
            },
          },
        ],
      },
    ],
    dispenseRequest: {
      quantity: {
        value: 180,
        unit: 'tablet',
        system: 'http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm',
        code: 'TAB',
      },
      numberOfRepeatsAllowed: 1,
    },
  };
}

function letrozoleOrder(id: string, patientId: string): MedicationRequest {
  return {
    resourceType: 'MedicationRequest',
    id,
    status: 'draft',
    intent: 'order',
    contained: [
      <Medication>{
        resourceType: 'Medication',
        id: 'm',
        code: {
          coding: [
            { system: ATC, code: 'L02BG04', display: 'letrozole' },
            { system: RX, code: '72965', display: 'letrozole' },
          ],
          text: 'Letrozole 2.5 mg tablet',
        },
      },
    ],
    medicationReference: { reference: '#m' },
    subject: { reference: `Patient/${patientId}` },
    dosageInstruction: [
      {
        timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } },
        route: ORAL,
        doseAndRate: [{ doseQuantity: { value: 2.5, unit: 'mg', system: UCUM, code: 'mg' } }],
      },
    ],
    dispenseRequest: {
      expectedSupplyDuration: { value: 90, unit: 'days', system: UCUM, code: 'd' },
      numberOfRepeatsAllowed: 3,
    },
  };
}

function leuprolideOrder(id: string, patientId: string): MedicationRequest {
  return {
    resourceType: 'MedicationRequest',
    id,
    status: 'draft',
    intent: 'order',
    medicationCodeableConcept: {
      coding: [{ system: ATC, code: 'L02AE02', display: 'leuprorelin' }],
      text: 'Leuprolide 22.5 mg depot',
    },
    subject: { reference: `Patient/${patientId}` },
    dosageInstruction: [
      {
        timing: { repeat: { frequency: 1, period: 3, periodUnit: 'mo' } },
        route: { coding: [{ system: SCT, code: '78421000', display: 'Intramuscular route' }] },
        doseAndRate: [{ doseQuantity: { value: 22.5, unit: 'mg', system: UCUM, code: 'mg' } }],
      },
    ],
  };
}

function lisinoprilOrder(id: string, patientId: string): MedicationRequest {
  return {
    resourceType: 'MedicationRequest',
    id,
    status: 'draft',
    intent: 'order',
    medicationCodeableConcept: {
      coding: [{ system: RX, code: '314076', display: 'lisinopril 10 MG Oral Tablet' }],
      text: 'Lisinopril 10 mg tablet',
    },
    subject: { reference: `Patient/${patientId}` },
    dosageInstruction: [
      {
        timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } },
        route: ORAL,
        doseAndRate: [{ doseQuantity: { value: 10, unit: 'mg', system: UCUM, code: 'mg' } }],
      },
    ],
  };
}

function hydrocortisoneCreamOrder(id: string, patientId: string): MedicationRequest {
  return {
    resourceType: 'MedicationRequest',
    id,
    status: 'draft',
    intent: 'order',
    medicationCodeableConcept: {
      coding: [{ system: RX, code: '5492', display: 'hydrocortisone' }],
      text: 'Hydrocortisone 2.5% cream',
    },
    subject: { reference: `Patient/${patientId}` },
    dosageInstruction: [
      {
        timing: { repeat: { frequency: 2, period: 1, periodUnit: 'd' } },
        route: { coding: [{ system: SCT, code: '6064005', display: 'Topical route' }] },
      },
    ],
    dispenseRequest: { expectedSupplyDuration: { value: 180, unit: 'days', system: UCUM, code: 'd' } },
  };
}

function dxaServiceRequest(id: string, patientId: string): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    id,
    status: 'draft',
    intent: 'order',
    code: {
      coding: [{ system: 'http://loinc.org', code: '38269-7', display: 'DXA Bone density' }],
      text: 'DXA bone density',
    },
    subject: { reference: `Patient/${patientId}` },
  };
}

function bundle(...resources: (MedicationRequest | ServiceRequest)[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: resources.map((resource) => ({ fullUrl: `${resource.resourceType}/${resource.id}`, resource })),
  };
}

function orderSign(patientId: string, draftOrders: Bundle, extra: Record<string, unknown> = {}) {
  return {
    hook: 'order-sign',
    hookInstance: randomUUID(),
    fhirServer: fhir,
    context: { userId: 'Practitioner/demo-clinician', patientId, draftOrders },
    ...extra,
  };
}

function orderSelect(
  patientId: string,
  draftOrders: Bundle,
  selections: string[],
  extra: Record<string, unknown> = {},
) {
  return {
    hook: 'order-select',
    hookInstance: randomUUID(),
    fhirServer: fhir,
    context: { userId: 'Practitioner/demo-clinician', patientId, selections, draftOrders },
    ...extra,
  };
}

const post = (service: string, body: unknown) =>
  request(ct.url)
    .post(`/cds-services/${service}`)
    .set('content-type', 'application/json')
    .send(body as object);
const sign = (body: unknown) => post('bone-muscle-order-sign', body);
const select = (body: unknown) => post('bone-muscle-order-select', body);

/** Everything a card says, in full: the budgeted detail and the lines extension.crosstalk carries for the app. */
function fullText(card: {
  detail: string;
  extension: { crosstalk: { statements: string[]; context: string[]; caveats: string[] } };
}): string {
  const x = card.extension.crosstalk;
  return [card.detail, ...x.statements, ...x.context, ...x.caveats].join('\n');
}

function suggestedResources(body: {
  cards: { suggestions?: { actions?: { resource?: unknown }[] }[] }[];
}): ServiceRequest[] {
  return body.cards
    .flatMap((c) => c.suggestions ?? [])
    .flatMap((s) => s.actions ?? [])
    .map((a) => a.resource as ServiceRequest);
}

/** The suggested orders are valid FHIR R4 (medplum's validator over the R4 StructureDefinitions the embedded server indexed). */
function expectValidFhir(resources: ServiceRequest[]): void {
  expect(resources.length).toBeGreaterThan(0);
  for (const r of resources)
    expect(validateResource(r as unknown as Parameters<typeof validateResource>[0]), JSON.stringify(r)).toEqual([]);
}

beforeAll(async () => {
  // The embedded server scans in memory; a generous budget keeps a loaded machine from turning slow reads into 412s.
  ct = await startCrosstalk({ CROSSTALK_FHIR_TIMEOUT_MS: '10000', CROSSTALK_REQUEST_BUDGET_MS: '15000' });
  fhir = `${ct.url}/fhir`;
});
afterAll(async () => {
  await ct?.close();
});

describe('discovery', () => {
  it('lists order-select and order-sign beside patient-view, each with its prefetch', async () => {
    const res = await request(ct.url).get('/cds-services').expect(200);
    expectValidDiscovery(res.body);
    const byId = Object.fromEntries(res.body.services.map((s: { id: string }) => [s.id, s]));
    expect(byId['bone-muscle-order-select']).toMatchObject({
      hook: 'order-select',
      prefetch: expect.objectContaining({
        patient: 'Patient/{{context.patientId}}',
        medicationRequests: expect.any(String),
      }),
    });
    expect(byId['bone-muscle-order-sign']).toMatchObject({
      hook: 'order-sign',
      prefetch: expect.objectContaining({ dxa: expect.any(String), osteoporosisTherapy: expect.any(String) }),
    });
    expect(byId['bone-muscle-patient-view']).toBeDefined();
  });
});

describe('order-sign: a systemic glucocorticoid expected to run more than 3 months at ≥ 2.5 mg/day', () => {
  it('warns at signing with a valid DXA + VFA ServiceRequest that points at the order (medicationCodeableConcept, supply × refills)', async () => {
    const res = await sign(orderSign('demo-no-labs', bundle(prednisoneOrder('rx-pred', 'demo-no-labs', 10, 3)))).expect(
      200,
    );
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    const card = res.body.cards[0];
    expect(card.indicator).toBe('warning');
    expect(card.summary).toMatch(/^This order makes long-term glucocorticoid use/);
    expect(fullText(card)).toContain(
      'Being ordered: predniSONE 10 mg tablet (MedicationRequest/rx-pred): prednisone 10 mg/day',
    );
    expect(fullText(card)).toContain('30 d supply × 4 fills');
    expect(card.detail).toContain('120 days');
    // The card says the order and its prednisone-equivalent dose; the ingredient arithmetic is in the statements (the app).
    expect(card.detail).toContain('Being ordered: predniSONE 10 mg tablet: 10 mg/day prednisone-equivalent');
    expect(card.extension.crosstalk.measures).toMatchObject([
      { code: 'prednisone-equivalent-dose', value: 10, unit: 'mg/d', derivedFrom: ['MedicationRequest/rx-pred'] },
      { code: 'glucocorticoid-exposure', value: 120, unit: 'd', derivedFrom: ['MedicationRequest/rx-pred'] },
    ]);
    const [sr] = suggestedResources(res.body);
    expect(sr).toMatchObject({
      resourceType: 'ServiceRequest',
      status: 'draft',
      subject: { reference: 'Patient/demo-no-labs' },
      supportingInfo: [{ reference: 'MedicationRequest/rx-pred' }],
    });
    expect(sr!.code!.text).toMatch(/vertebral fracture assessment/);
    expectValidFhir(suggestedResources(res.body));
    // Besides the SMART app link every finding card carries.
    expect(card.links.filter((l: { type: string }) => l.type === 'absolute')).toEqual([
      { label: 'FRAX fracture risk calculator', url: 'https://frax.shef.ac.uk/FRAX/', type: 'absolute' },
    ]);
  });

  it('reads a medicationReference to a contained Medication: tablets × strength, BID from Timing.code, days from the dispensed quantity', async () => {
    const res = await sign(orderSign('demo-no-labs', bundle(methylprednisoloneOrder('rx-mp', 'demo-no-labs')))).expect(
      200,
    );
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    const detail = fullText(res.body.cards[0]);
    expect(detail).toContain(
      'methylprednisolone 8 mg/day (1 TAB × 4 mg per TAB (Medication strength) × BID) × 1.25 = 10 mg/day prednisone-equivalent',
    );
    expect(detail).toContain('180 TAB at 2 a day × 2 fills');
    expect(detail).toContain('RxNorm 6902 (methylprednisolone)');
  });

  it('gives the under-40 form (FRAX not validated) to a young patient, without the FRAX link', async () => {
    const res = await sign(
      orderSign('demo-steroid-young', bundle(prednisoneOrder('rx-young', 'demo-steroid-young', 10, 3))),
    ).expect(200);
    expectValidCdsResponse(res.body);
    const card = res.body.cards[0];
    expect(fullText(card)).toMatch(/FRAX is not validated under 40/);
    expect((card.links ?? []).filter((l: { type: string }) => l.type === 'absolute')).toEqual([]);
  });

  it('counts the course already on the chart: a 30-day renewal of a current prednisone course is long-term', async () => {
    const res = await sign(
      orderSign('demo-steroid', bundle(prednisoneOrder('rx-renew', 'demo-steroid', 7.5, 0))),
    ).expect(200);
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    expect(fullText(res.body.cards[0])).toContain('MedicationRequest/demo-steroid-pred');
    expect(res.body.cards[0].detail).toContain('Being ordered:');
  });

  it('honours order-sign 1.1: a revised order re-signed as active still counts; a cancelled one does not', async () => {
    const active = await sign(
      orderSign('demo-no-labs', bundle(prednisoneOrder('rx-active', 'demo-no-labs', 10, 3, { status: 'active' }))),
    ).expect(200);
    expect(ruleIds(active.body)).toEqual(['glucocorticoid-bone']);
    const cancelled = await sign(
      orderSign('demo-no-labs', bundle(prednisoneOrder('rx-cancel', 'demo-no-labs', 10, 3, { status: 'cancelled' }))),
    ).expect(200);
    expect(cancelled.body).toEqual({ cards: [] });
  });

  const quiet: [string, string, () => Bundle][] = [
    [
      'a 5-day burst of 40 mg (timing bounds)',
      'demo-no-labs',
      () => bundle(prednisoneOrder('rx-burst', 'demo-no-labs', 40, 0, { boundsDays: 5 })),
    ],
    [
      '2 mg a day for 4 months (below 2.5 mg/day)',
      'demo-no-labs',
      () => bundle(prednisoneOrder('rx-low', 'demo-no-labs', 2, 3)),
    ],
    [
      'a topical hydrocortisone cream (not systemic)',
      'demo-no-labs',
      () => bundle(hydrocortisoneCreamOrder('rx-cream', 'demo-no-labs')),
    ],
    [
      'an unrelated order for a patient already on long-term prednisone (the chart is patient-view’s business)',
      'demo-steroid',
      () => bundle(lisinoprilOrder('rx-lis', 'demo-steroid')),
    ],
    [
      'a long course for a patient with a DXA 10 months ago',
      'demo-steroid-dxa',
      () => bundle(prednisoneOrder('rx-dxa', 'demo-steroid-dxa', 10, 3)),
    ],
  ];
  for (const [what, patientId, orders] of quiet) {
    it(`stays quiet for ${what}`, async () => {
      const res = await sign(orderSign(patientId, orders())).expect(200);
      expectValidCdsResponse(res.body);
      expect(res.body).toEqual({ cards: [] });
    });
  }

  it('stays quiet when a DXA is ordered in the same session, and logs the suppression by reason code', async () => {
    const hookInstance = randomUUID();
    const res = await sign({
      ...orderSign(
        'demo-no-labs',
        bundle(prednisoneOrder('rx-with-dxa', 'demo-no-labs', 10, 3), dxaServiceRequest('sr-dxa', 'demo-no-labs')),
      ),
      hookInstance,
    }).expect(200);
    expect(res.body).toEqual({ cards: [] });
    const line = ct.logs.lines.map((l) => JSON.parse(l)).find((l) => l.hookInstance === hookInstance);
    expect(line.why['glucocorticoid-bone']).toEqual(['dxa-ordered']);
  });

  it('stays quiet for a patient already on osteoporosis therapy', async () => {
    const hookInstance = randomUUID();
    const res = await sign({
      ...orderSign('demo-steroid-treated', bundle(prednisoneOrder('rx-treated', 'demo-steroid-treated', 10, 3))),
      hookInstance,
    }).expect(200);
    expect(res.body).toEqual({ cards: [] });
    const line = ct.logs.lines.map((l) => JSON.parse(l)).find((l) => l.hookInstance === hookInstance);
    expect(line.why['glucocorticoid-bone']).toEqual(['osteoporosis-therapy']);
  });
});

describe('order-sign: aromatase inhibitor or androgen-deprivation therapy', () => {
  it('suggests a baseline DXA only: nothing about endocrine-therapy bone loss needs cystatin C', async () => {
    const res = await sign(
      orderSign('demo-missing-cystatin', bundle(letrozoleOrder('rx-let', 'demo-missing-cystatin'))),
    ).expect(200);
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).toEqual(['endocrine-therapy-bone']);
    const card = res.body.cards[0];
    expect(card.indicator).toBe('info');
    const codes = suggestedResources(res.body).map((r) => r.code!.coding![0]!.code);
    expect(codes).toEqual(['38269-7']);
    expectValidFhir(suggestedResources(res.body));
  });

  it('suggests no kidney labs when neither is on file (ADT, coded by ATC only): the card is about bone', async () => {
    const res = await sign(orderSign('demo-no-labs', bundle(leuprolideOrder('rx-leu', 'demo-no-labs')))).expect(200);
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).toEqual(['endocrine-therapy-bone']);
    expect(suggestedResources(res.body).map((r) => r.code!.coding![0]!.code)).toEqual(['38269-7']);
  });

  it('does not suggest the labs when a same-draw pair is on file', async () => {
    const res = await sign(orderSign('demo-low-ccr', bundle(letrozoleOrder('rx-let2', 'demo-low-ccr')))).expect(200);
    expect(suggestedResources(res.body).map((r) => r.code!.coding![0]!.code)).toEqual(['38269-7']);
  });
});

describe('order-select', () => {
  const orders = () =>
    bundle(lisinoprilOrder('rx-lis', 'demo-no-labs'), prednisoneOrder('rx-pred', 'demo-no-labs', 10, 3));

  it('narrows to the selections: choosing the prednisone gives the card', async () => {
    const res = await select(orderSelect('demo-no-labs', orders(), ['MedicationRequest/rx-pred'])).expect(200);
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
  });

  it('narrows to the selections: choosing the lisinopril beside an unselected prednisone gives none', async () => {
    const res = await select(orderSelect('demo-no-labs', orders(), ['MedicationRequest/rx-lis'])).expect(200);
    expect(res.body).toEqual({ cards: [] });
  });

  it('still sees an unselected DXA draft order as "DXA ordered"', async () => {
    const res = await select(
      orderSelect(
        'demo-no-labs',
        bundle(prednisoneOrder('rx-p', 'demo-no-labs', 10, 3), dxaServiceRequest('sr-d', 'demo-no-labs')),
        ['MedicationRequest/rx-p'],
      ),
    ).expect(200);
    expect(res.body).toEqual({ cards: [] });
  });

  it('accepts a selection that names the order by its urn:uuid fullUrl', async () => {
    const uuid = randomUUID();
    const { id: _id, ...noId } = prednisoneOrder('x', 'demo-no-labs', 10, 3);
    const b: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ fullUrl: `urn:uuid:${uuid}`, resource: noId as MedicationRequest }],
    };
    const res = await select(orderSelect('demo-no-labs', b, [`urn:uuid:${uuid}`])).expect(200);
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    expect(res.body.cards[0].extension.crosstalk.measures[0].derivedFrom).toEqual([`MedicationRequest/${uuid}`]);
  });

  it('rejects a selection that is not among the draft orders with 400 and an OperationOutcome', async () => {
    const res = await select(orderSelect('demo-no-labs', orders(), ['MedicationRequest/nope'])).expect(400);
    expectOperationOutcome(res.body);
    expect(res.body.issue[0].expression).toEqual(['context.selections']);
  });

  it('rejects a context without selections or draftOrders with 400', async () => {
    const body = orderSelect('demo-no-labs', orders(), []);
    await select(body).expect(400);
    await select({
      ...body,
      context: { userId: 'Practitioner/x', patientId: 'demo-no-labs', selections: ['MedicationRequest/rx-pred'] },
    }).expect(400);
  });
});

describe('order hooks and their data', () => {
  it('give identical cards from full prefetch and from FHIR', async () => {
    const templates: Record<string, string> =
      loadServices().get('bone-muscle-order-sign')!.definition.discovery.prefetch;
    const prefetch = await buildPrefetch(fhir, 'demo-missing-cystatin', templates);
    const orders = bundle(letrozoleOrder('rx-l', 'demo-missing-cystatin'));
    const { fhirServer: _f, ...noServer } = orderSign('demo-missing-cystatin', orders, { prefetch });
    const viaPrefetch = await sign(noServer).expect(200);
    const viaFhir = await sign(orderSign('demo-missing-cystatin', orders)).expect(200);
    const strip = (b: { cards: object[] }) => JSON.stringify(b.cards).replace(/"uuid":"[^"]+"/g, '');
    expect(ruleIds(viaPrefetch.body)).toEqual(['endocrine-therapy-bone']);
    expect(strip(viaPrefetch.body)).toEqual(strip(viaFhir.body));
    expect(Object.keys(selectFile.discovery.prefetch)).toEqual(Object.keys(templates));
  });

  it('answer 412 when the patient cannot be had (no prefetch, no fhirServer)', async () => {
    const { fhirServer: _f, ...body } = orderSign('demo-no-labs', bundle(prednisoneOrder('rx', 'demo-no-labs', 10, 3)));
    const res = await sign(body).expect(412);
    expectOperationOutcome(res.body);
  });

  it('proceed with only the patient, and say on the card what could not be checked', async () => {
    const prefetch = await buildPrefetch(fhir, 'demo-no-labs', { patient: 'Patient/{{context.patientId}}' });
    const { fhirServer: _f, ...body } = orderSign(
      'demo-no-labs',
      bundle(prednisoneOrder('rx', 'demo-no-labs', 10, 3)),
      { prefetch },
    );
    const res = await sign(body).expect(200);
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    // What could not be checked changes how far the card can be trusted: it is on the card itself, not only in the app.
    const detail: string = res.body.cards[0].detail;
    expect(detail).toContain('DXA history could not be checked');
    expect(detail).toContain('120 days');
    // The detail's 600 characters now carry ACR 2022's calcium/vitamin D and FRAX dose lines; the rest of what could
    // not be checked stays on the card's full text.
    expect(JSON.stringify(res.body.cards[0])).toMatch(/osteoporosis therapy/i);
  });
});

describe("the CDS Hooks Sandbox's own Rx View and Rx Sign (test/fixtures/sandbox-rx.ts)", () => {
  // The Sandbox fills prefetch from discovery's templates against its FHIR server, as buildPrefetch does here.
  const call = async (patientId: string, medication: { id: string; name: string }) => ({
    patientId,
    fhirServer: fhir,
    prefetch: await buildPrefetch(fhir, patientId, selectFile.discovery.prefetch),
    order: { medication },
  });
  const tabs = [
    ['Rx View (order-select)', sandboxRxView, select],
    ['Rx Sign (order-sign)', sandboxRxSign, sign],
  ] as const;

  for (const [tab, build, post] of tabs) {
    it(`${tab}: its prednisone order for demo-steroid is read, not refused (category as one object costs nothing)`, async () => {
      const body = build(await call('demo-steroid', SANDBOX_PREDNISONE['5mg']));
      const draft = (body.context as { draftOrders: Bundle }).draftOrders.entry?.[0]?.resource as {
        category?: unknown;
      };
      expect(Array.isArray(draft.category)).toBe(false);
      const res = await post(body).expect(200);
      expectValidCdsResponse(res.body);
      const log = callLog(ct.logs, body.hookInstance as string);
      expect(log.malformed).toBeUndefined();
      // The order is seen as the glucocorticoid order being placed (never "no order").
      expect((log.why as Record<string, string[]> | undefined)?.['glucocorticoid-bone'] ?? []).not.toContain(
        'no-order',
      );
    });

    // A dose of `1 {pill}` of an RxNorm tablet is read through the product's strength (5 mg), not as "dose unknown".
    it(`${tab}: prednisone 5 mg tablets, 1 {pill} daily, for demo-steroid answers 200 with the glucocorticoid card`, async () => {
      const res = await post(build(await call('demo-steroid', SANDBOX_PREDNISONE['5mg']))).expect(200);
      expectValidCdsResponse(res.body);
      expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    });
  }
});

describe('order hooks with records as EHRs send them, judged one resource at a time', () => {
  it('Epic-shaped order-sign: 150-character ids in draftOrders and prefetch give the glucocorticoid warning', async () => {
    const prefetch = await buildPrefetch(fhir, 'demo-no-labs', selectFile.discovery.prefetch);
    const draft = bundle(prednisoneOrder('demo-no-labs-rx', 'demo-no-labs', 10, 3));
    const { data, ids } = withEpicIds({ prefetch, draft }, 'demo-no-labs');
    const patientId = ids.get('demo-no-labs') as string;
    expect(patientId).toHaveLength(150);
    expect(data.draft.entry?.[0]?.resource?.id).toHaveLength(150);
    const { fhirServer: _f, ...body } = orderSign(patientId, data.draft, { prefetch: data.prefetch });
    const res = await sign(body).expect(200);
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    expect(res.body.cards[0].extension.crosstalk.measures[0].derivedFrom).toEqual([
      `MedicationRequest/${ids.get('demo-no-labs-rx')}`,
    ]);
  });

  it('a selected draft order the rules cannot read is set aside: 200, no card, and "could not be checked", never a 400', async () => {
    const broken = prednisoneOrder('rx-broken', 'demo-no-labs', 10, 3);
    (broken.dosageInstruction as unknown as object[])[0] = { doseAndRate: 'ten milligrams' } as object;
    const body = orderSelect('demo-no-labs', bundle(lisinoprilOrder('rx-l2', 'demo-no-labs'), broken), [
      'MedicationRequest/rx-broken',
    ]);
    const res = await select(body).expect(200);
    expect(res.body).toEqual({ cards: [] });
    const log = callLog(ct.logs, body.hookInstance);
    expect((log.why as Record<string, string[]>)['glucocorticoid-bone']).toEqual(['context-unavailable']);
    expect(log.malformed).toBe(1);
    expect(log.unreadable).toEqual(['medications', 'osteoporosis-therapy']);
  });

  it('still refuses with a 400 OperationOutcome what is not CDS Hooks: draftOrders not a Bundle, entries not objects, prefetch not an object', async () => {
    const good = orderSign('demo-no-labs', bundle(prednisoneOrder('rx-s', 'demo-no-labs', 10, 3)));
    const ctxWith = (draftOrders: unknown) => ({ ...good, context: { ...good.context, draftOrders } });
    for (const body of [
      ctxWith({ resourceType: 'Parameters' }),
      ctxWith({ resourceType: 'Bundle', entry: {} }),
      ctxWith({ resourceType: 'Bundle', entry: ['MedicationRequest/rx-s'] }),
      { ...good, prefetch: [] },
      { ...good, prefetch: { patient: 'Patient/demo-no-labs' } },
    ]) {
      const res = await sign(body).expect(400);
      expectOperationOutcome(res.body);
    }
  });

  it('an unselected draft order the rules cannot read does not stop the selected one', async () => {
    const broken = lisinoprilOrder('rx-l3', 'demo-no-labs');
    (broken as unknown as Record<string, unknown>).medicationCodeableConcept = { coding: 'lisinopril' };
    const body = orderSelect('demo-no-labs', bundle(broken, prednisoneOrder('rx-p3', 'demo-no-labs', 10, 3)), [
      'MedicationRequest/rx-p3',
    ]);
    const res = await select(body).expect(200);
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    // The card says what could not be checked: the medication list held an order that could not be read.
    expect(fullText(res.body.cards[0])).toMatch(/medication list/);
  });
});

describe('logs of the order hooks', () => {
  it('hold reason codes but no patient id, order id or token', () => {
    expect(ct.logs.text).toContain('"why"');
    for (const id of ['demo-no-labs', 'demo-steroid', 'demo-missing-cystatin', 'rx-pred', 'MedicationRequest/'])
      expect(ct.logs.text).not.toContain(id);
  });
});
