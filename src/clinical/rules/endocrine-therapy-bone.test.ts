import type {
  CodeableConcept,
  Dosage,
  MedicationAdministration,
  MedicationDispense,
  MedicationRequest,
  MedicationStatement,
  Patient,
  Resource,
} from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../../config/knowledge-file';
import { daysAgo, lab, medicationRequest, patient } from '../../demo/builders';
import { evaluatePatient } from '../engine';
import { inputFromResources } from '../input';
import type { PatientEvaluation } from '../types';

/* R2 counts ongoing aromatase-inhibitor or androgen-deprivation therapy, not a few days of it. */

const k = loadKnowledgeSync();
const NOW = new Date('2026-11-25T12:00:00Z');
const UCUM = 'http://unitsofmeasure.org';
const woman = (age: number): Patient => patient('p', 'female', `${2026 - age - 1}-06-01`);
const run = (resources: Resource[], p = woman(63)): PatientEvaluation =>
  evaluatePatient(inputFromResources(p, resources), k, NOW);
const r2 = (e: PatientEvaluation) => e.outcomes.find((o) => o.ruleId === 'endocrine-therapy-bone')!;

// Letrozole coded by RxNorm SCD and ATC, as a pharmacy system sends it.
const letrozole = {
  coding: [
    { system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '200064', display: 'letrozole 2.5 MG Oral Tablet' },
    { system: 'http://www.whocc.no/atc', code: 'L02BG04', display: 'letrozole' },
  ],
  text: 'letrozole 2.5 MG Oral Tablet',
};
const oneTab = (repeat: NonNullable<Dosage['timing']>['repeat']): Dosage => ({
  timing: { repeat },
  doseAndRate: [{ doseQuantity: { value: 1, unit: 'TAB', code: 'TAB' } }],
});

describe('R2 and the length of the course', () => {
  it('makes no card for five days of letrozole for ovulation induction, and says why', () => {
    const r: MedicationRequest = {
      ...medicationRequest('ovi', 'p', letrozole, {
        authoredOn: daysAgo(NOW, 10),
        dosage: [
          oneTab({
            frequency: 1,
            period: 1,
            periodUnit: 'd',
            boundsDuration: { value: 5, unit: 'days', code: 'd', system: UCUM },
          }),
        ],
      }),
      dispenseRequest: { quantity: { value: 5, unit: 'TAB', code: 'TAB' }, numberOfRepeatsAllowed: 0 },
    };
    const e = run([r], woman(33));
    expect(e.findings).toEqual([]);
    expect(r2(e).reasons.map((x) => x.code)).toEqual(['no-therapy', 'short-course']);
  });

  it('makes no card at order time for a five-tablet letrozole order', () => {
    const r: MedicationRequest = {
      ...medicationRequest('ovi2', 'p', letrozole, {
        status: 'draft',
        dosage: [oneTab({ frequency: 1, period: 1, periodUnit: 'd' })],
      }),
      dispenseRequest: { quantity: { value: 5, unit: 'tablets', code: '{tbl}', system: UCUM } },
    };
    const e = evaluatePatient({ ...inputFromResources(woman(33), []), draftOrders: { resources: [r] } }, k, NOW);
    expect(e.findings).toEqual([]);
    expect(r2(e).reasons.map((x) => x.code)).toEqual(['no-order', 'short-course']);
  });

  it('fires for ongoing adjuvant letrozole (90-day fills with repeats)', () => {
    const r = medicationRequest('adj', 'p', letrozole, {
      authoredOn: daysAgo(NOW, 60),
      supplyDays: 90,
      repeats: 3,
      dosage: [oneTab({ frequency: 1, period: 1, periodUnit: 'd' })],
    });
    expect(run([r]).findings.map((f) => f.ruleId)).toEqual(['endocrine-therapy-bone']);
  });

  it('fires for an active order with no stated end (ongoing until stopped)', () => {
    const r = medicationRequest('open', 'p', letrozole, {
      authoredOn: daysAgo(NOW, 20),
      dosage: [oneTab({ frequency: 1, period: 1, periodUnit: 'd' })],
    });
    expect(run([r]).findings.map((f) => f.ruleId)).toEqual(['endocrine-therapy-bone']);
  });

  it('does not claim on its card that endocrine therapy costs muscle', () => {
    const r = medicationRequest('adj', 'p', letrozole, {
      authoredOn: daysAgo(NOW, 60),
      supplyDays: 90,
      repeats: 3,
      dosage: [oneTab({ frequency: 1, period: 1, periodUnit: 'd' })],
    });
    const e = run([r, lab('cr', 'p', 'creatinineMass', 0.7, daysAgo(NOW, 20))]);
    const text = JSON.stringify(e.findings);
    expect(e.findings.map((f) => f.ruleId)).toEqual(['endocrine-therapy-bone']);
    expect(text).not.toMatch(/muscle/i);
  });
});

// A 12-weekly goserelin depot for prostate cancer, recorded as each of the four medication resources.
const goserelin: CodeableConcept = {
  coding: [{ system: 'http://www.whocc.no/atc', code: 'L02AE03', display: 'goserelin' }],
  text: 'goserelin 10.8 MG implant',
};
const man = (age: number): Patient => patient('p', 'male', `${2026 - age - 1}-06-01`);
const subject = { reference: 'Patient/p' };
const depots: Record<string, (id: string, day: number) => Resource> = {
  MedicationAdministration: (id, day): MedicationAdministration => ({
    resourceType: 'MedicationAdministration',
    id,
    status: 'completed',
    subject,
    medicationCodeableConcept: goserelin,
    effectiveDateTime: daysAgo(NOW, day),
  }),
  MedicationDispense: (id, day): MedicationDispense => ({
    resourceType: 'MedicationDispense',
    id,
    status: 'completed',
    subject,
    medicationCodeableConcept: goserelin,
    whenHandedOver: daysAgo(NOW, day),
  }),
  MedicationStatement: (id, day): MedicationStatement => ({
    resourceType: 'MedicationStatement',
    id,
    status: 'completed',
    subject,
    medicationCodeableConcept: goserelin,
    effectiveDateTime: daysAgo(NOW, day),
  }),
  MedicationRequest: (id, day): MedicationRequest => ({
    ...medicationRequest(id, 'p', goserelin, { authoredOn: daysAgo(NOW, day) }),
    status: 'completed',
  }),
};

describe("R2 on the medicine's timeline, whichever resource recorded it", () => {
  const firesFor = (depot: (id: string, day: number) => Resource) => {
    const e = run([depot('g1', 249), depot('g2', 165), depot('g3', 81)], man(72));
    expect(e.findings.map((f) => f.ruleId)).toEqual(['endocrine-therapy-bone']);
  };
  it('fires for 12-weekly goserelin depots recorded only as MedicationAdministrations, the last 81 days ago', () =>
    firesFor(depots.MedicationAdministration!));
  for (const kind of ['MedicationDispense', 'MedicationStatement', 'MedicationRequest']) {
    it(`fires for the same depots recorded only as ${kind}s`, () => firesFor(depots[kind]!));
  }

  it('makes no card once the depots stopped: the next dose fell due long ago', () => {
    const e = run([depots.MedicationAdministration!('g1', 500), depots.MedicationAdministration!('g2', 416)], man(72));
    expect(e.findings).toEqual([]);
    expect(r2(e).reasons.map((x) => x.code)).toEqual(['no-therapy']);
  });
});
