import type { Dosage, MedicationRequest, Patient, Resource } from 'fhir/r4';
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
