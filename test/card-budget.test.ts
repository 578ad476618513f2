/**
 * Every card the services produce for every demo patient, on patient-view and on both order hooks, is one a
 * clinician takes in at a glance: summary ≤ 100 characters, detail ≤ 600 ending "Advisory, not a diagnosis.", and
 * none of our working notes (grade codes, section signs, file names, secondary web sources, raw UCUM) anywhere.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Medication, MedicationRequest } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServices } from '../src/cds/services';
import type { Card } from '../src/cds/types';
import { evaluateBundle } from '../src/cli/evaluate';
import { loadKnowledgeSync } from '../src/config/knowledge-file';
import { DEMO_PATIENTS, demoTransaction } from '../src/demo/patients';
import { cardProblems } from './support/card-check';
import { startCrosstalk } from './support/harness';

const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const ATC = 'http://www.whocc.no/atc';
const UCUM = 'http://unitsofmeasure.org';
const ORAL = { coding: [{ system: 'http://snomed.info/sct', code: '26643006', display: 'Oral route' }] };

/** The order-hook test records' shapes: prednisone with refills, letrozole by contained Medication, a leuprolide depot. */
function orders(patientId: string): MedicationRequest[] {
  const subject = { reference: `Patient/${patientId}` };
  return [
    {
      resourceType: 'MedicationRequest',
      id: 'rx-pred',
      status: 'draft',
      intent: 'order',
      medicationCodeableConcept: {
        coding: [
          { system: RX, code: '312617', display: 'predniSONE 5 MG Oral Tablet' },
          { system: RX, code: '8640', display: 'prednisone' },
        ],
        text: 'predniSONE 10 mg tablet',
      },
      subject,
      dosageInstruction: [
        {
          timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } },
          route: ORAL,
          doseAndRate: [{ doseQuantity: { value: 10, unit: 'mg', system: UCUM, code: 'mg' } }],
        },
      ],
      dispenseRequest: {
        numberOfRepeatsAllowed: 3,
        expectedSupplyDuration: { value: 30, unit: 'days', system: UCUM, code: 'd' },
      },
    },
    {
      resourceType: 'MedicationRequest',
      id: 'rx-let',
      status: 'draft',
      intent: 'order',
      contained: [
        <Medication>{
          resourceType: 'Medication',
          id: 'm',
          code: { coding: [{ system: ATC, code: 'L02BG04', display: 'letrozole' }], text: 'Letrozole 2.5 mg tablet' },
        },
      ],
      medicationReference: { reference: '#m' },
      subject,
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
    },
    {
      resourceType: 'MedicationRequest',
      id: 'rx-leu',
      status: 'draft',
      intent: 'order',
      medicationCodeableConcept: {
        coding: [{ system: ATC, code: 'L02AE02', display: 'leuprorelin' }],
        text: 'Leuprolide 22.5 mg depot',
      },
      subject,
      dosageInstruction: [
        {
          timing: { repeat: { frequency: 1, period: 3, periodUnit: 'mo' } },
          doseAndRate: [{ doseQuantity: { value: 22.5, unit: 'mg', system: UCUM, code: 'mg' } }],
        },
      ],
    },
  ];
}

const draftBundle = (rs: MedicationRequest[]): Bundle => ({
  resourceType: 'Bundle',
  type: 'collection',
  entry: rs.map((resource) => ({ fullUrl: `MedicationRequest/${resource.id}`, resource })),
});

let ct: Awaited<ReturnType<typeof startCrosstalk>>;
beforeAll(async () => {
  ct = await startCrosstalk({ CROSSTALK_FHIR_TIMEOUT_MS: '10000', CROSSTALK_REQUEST_BUDGET_MS: '15000' });
}, 120_000);
afterAll(async () => {
  await ct?.close();
});

async function call(service: string, body: unknown): Promise<Card[]> {
  const res = await fetch(`${ct.url}/cds-services/${service}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, service).toBe(200);
  return ((await res.json()) as { cards: Card[] }).cards;
}

describe('every card, for every demo patient and hook', { timeout: 180_000 }, () => {
  it('from patient-view (the CLI engine over the demo bundle) is within budget and free of working notes', async () => {
    const now = new Date();
    const service = loadServices().get('bone-muscle-patient-view')!;
    const cards = (await evaluateBundle(demoTransaction(now), service, loadKnowledgeSync(), now)).flatMap(
      (r) => r.cards,
    );
    // Every kind of card the demo shows is here, so the check covers every rule's wording.
    expect(new Set(cards.map((c) => c.extension.crosstalk.ruleId)).size).toBeGreaterThanOrEqual(5);
    expect(cards.flatMap(cardProblems)).toEqual([]);
  });

  it('from order-sign and order-select, with each order-hook test record, is within budget and free of working notes', async () => {
    const cards: Card[] = [];
    for (const p of DEMO_PATIENTS) {
      const all = orders(p.id);
      const context = { userId: 'Practitioner/demo-clinician', patientId: p.id };
      cards.push(
        ...(await call('bone-muscle-order-sign', {
          hook: 'order-sign',
          hookInstance: randomUUID(),
          fhirServer: `${ct.url}/fhir`,
          context: { ...context, draftOrders: draftBundle(all) },
        })),
      );
      for (const o of all) {
        const body = {
          hook: 'order-select',
          hookInstance: randomUUID(),
          fhirServer: `${ct.url}/fhir`,
          context: { ...context, selections: [`MedicationRequest/${o.id}`], draftOrders: draftBundle(all) },
        };
        cards.push(...(await call('bone-muscle-order-select', body)));
      }
    }
    expect(new Set(cards.map((c) => c.extension.crosstalk.ruleId))).toEqual(
      new Set(['glucocorticoid-bone', 'endocrine-therapy-bone']),
    );
    expect(cards.flatMap(cardProblems)).toEqual([]);
  });
});
