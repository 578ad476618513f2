import type { Dosage, Medication, MedicationRequest, Patient, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../../config/knowledge-file';
import { daysAgo, medicationRequest, patient } from '../../demo/builders';
import { evaluatePatient } from '../engine';
import { inputFromResources } from '../input';
import type { PatientEvaluation } from '../types';

/* R1 on orders shaped as EHRs send them: RxNorm products, doses in tablets, full Timing, stopped orders. */

const k = loadKnowledgeSync();
const NOW = new Date('2026-11-25T12:00:00Z');
const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const UCUM = 'http://unitsofmeasure.org';
const woman = (age: number): Patient => patient('p', 'female', `${2026 - age - 1}-06-01`);
const run = (resources: Resource[]): PatientEvaluation =>
  evaluatePatient(inputFromResources(woman(66), resources), k, NOW);
const r1 = (e: PatientEvaluation) => e.outcomes.find((o) => o.ruleId === 'glucocorticoid-bone')!;

const tabs = (
  n: number,
  repeat: NonNullable<Dosage['timing']>['repeat'] = { frequency: 1, period: 1, periodUnit: 'd' },
): Dosage => ({
  timing: { repeat },
  doseAndRate: [
    {
      doseQuantity: {
        value: n,
        unit: 'TAB',
        system: 'http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm',
        code: 'TAB',
      },
    },
  ],
});
const prednisone5 = {
  coding: [{ system: RX, code: '312617', display: 'predniSONE 5 MG Oral Tablet' }],
  text: 'predniSONE 5 MG Oral Tablet',
};
const nineMonths = (dosage: Dosage[], extra: Partial<MedicationRequest> = {}): MedicationRequest => ({
  ...medicationRequest('pred', 'p', prednisone5, { authoredOn: daysAgo(NOW, 270), supplyDays: 90, repeats: 3, dosage }),
  ...extra,
});

describe('R1 on RxNorm products dosed in tablets', () => {
  it('fires for predniSONE 5 MG Oral Tablet, one a day for nine months, and shows the arithmetic', () => {
    const e = run([nineMonths([tabs(1)])]);
    expect(e.findings.map((f) => f.ruleId)).toEqual(['glucocorticoid-bone']);
    expect(e.findings[0]!.statements.join(' ')).toMatch(/1 TAB × 5 mg per tbl \(RxNorm 312617/);
  });

  it('fires through medicationReference to a Medication coded with the SCD and the SBD', () => {
    const med: Medication = {
      resourceType: 'Medication',
      id: 'deltasone',
      code: {
        coding: [
          { system: RX, code: '312617', display: 'predniSONE 5 MG Oral Tablet' },
          { system: RX, code: '206954', display: 'Deltasone 5 MG Oral Tablet' },
        ],
        text: 'Deltasone 5 mg tablet',
      },
    };
    const r: MedicationRequest = {
      ...nineMonths([tabs(1)]),
      medicationReference: { reference: 'Medication/deltasone' },
    };
    delete r.medicationCodeableConcept;
    const e = evaluatePatient({ ...inputFromResources(woman(66), [r]), medications: [med] }, k, NOW);
    expect(e.findings.map((f) => f.ruleId)).toEqual(['glucocorticoid-bone']);
  });

  it('says the medication list could not be checked, and makes no card, when nothing states the strength of the tablets', () => {
    const oral = {
      ...tabs(1),
      route: { coding: [{ system: 'http://snomed.info/sct', code: '26643006', display: 'Oral route' }] },
    };
    const r = nineMonths([oral], {
      medicationCodeableConcept: { coding: [{ system: RX, code: '8640', display: 'prednisone' }] },
    });
    const e = run([r]);
    expect(e.findings).toEqual([]);
    // A dose stated in tablets that cannot be turned into mg is unreadable, not "no dose": the domain is unchecked.
    expect(r1(e).reasons.map((x) => x.code)).toContain('context-unavailable');
  });

  it('flags on the card a strength read only from the product name', () => {
    const r = nineMonths([tabs(1)], {
      medicationCodeableConcept: {
        coding: [{ system: RX, code: '8640', display: 'prednisone' }],
        text: 'Prednisone 5 mg tablet',
      },
    });
    const e = run([r]);
    expect(e.findings[0]?.statements.join(' ')).toMatch(/read from the name/);
  });
});

describe('R1 and osteoporosis therapy coded by RxNorm product', () => {
  const shot = (code: string, display: string): MedicationRequest => ({
    ...medicationRequest(
      'bone',
      'p',
      { coding: [{ system: RX, code, display }], text: display },
      { authoredOn: daysAgo(NOW, 60), supplyDays: 180 },
    ),
    dosageInstruction: [
      {
        timing: { repeat: { count: 1 } },
        doseAndRate: [{ doseQuantity: { value: 1, unit: 'syringe', code: '{syringe}', system: UCUM } }],
      },
    ],
  });
  const weekly = (code: string, display: string): MedicationRequest =>
    medicationRequest(
      'bone',
      'p',
      { coding: [{ system: RX, code, display }], text: display },
      {
        authoredOn: daysAgo(NOW, 60),
        supplyDays: 84,
        dosage: [tabs(1, { frequency: 1, period: 1, periodUnit: 'wk' })],
      },
    );

  it.each([
    ['alendronic acid 70 MG Oral Tablet (SCD)', () => weekly('904431', 'alendronic acid 70 MG Oral Tablet')],
    ['Actonel 35 mg (SBD)', () => weekly('905026', 'risedronate sodium 35 MG Oral Tablet [Actonel]')],
    ['a Prolia syringe (SBD)', () => shot('993456', '1 ML denosumab 60 MG/ML Prefilled Syringe [Prolia]')],
  ])('is suppressed as bone care, through a verified match, for %s', (_name, bone) => {
    const e = run([nineMonths([tabs(1)]), bone()]);
    expect(e.findings).toEqual([]);
    expect(r1(e).status).toBe('suppressed');
    expect(r1(e).reasons[0]?.code).toBe('osteoporosis-therapy');
    expect(r1(e).reasons[0]?.text).not.toMatch(/UNVERIFIED/i);
  });
});

describe('R1 reads Timing and status in full', () => {
  // Prednisone by RxNorm ingredient, dose in mg, oral: only the Timing and status differ between the cases.
  const ORAL = { coding: [{ system: 'http://snomed.info/sct', code: '26643006', display: 'Oral route' }] };
  const mg = (
    n: number,
    repeat: NonNullable<Dosage['timing']>['repeat'] = { frequency: 1, period: 1, periodUnit: 'd' },
  ): Dosage => ({
    timing: { repeat },
    route: ORAL,
    doseAndRate: [{ doseQuantity: { value: n, unit: 'mg', system: UCUM, code: 'mg' } }],
  });
  const prednisone = { coding: [{ system: RX, code: '8640', display: 'prednisone' }] };
  const course = (dosage: Dosage[], extra: Partial<MedicationRequest> = {}) =>
    nineMonths(dosage, { medicationCodeableConcept: prednisone, ...extra });

  it('fires for 5 mg every day (the control for the cases below)', () => {
    expect(run([course([mg(5)])]).findings.map((f) => f.ruleId)).toEqual(['glucocorticoid-bone']);
  });

  it('does not fire for 5 mg Mon/Wed/Fri (2.14 mg/day, below 2.5)', () => {
    const e = run([course([mg(5, { frequency: 1, period: 1, periodUnit: 'd', dayOfWeek: ['mon', 'wed', 'fri'] })])]);
    expect(e.findings).toEqual([]);
    expect(r1(e).reasons[0]).toMatchObject({ code: 'below-threshold', text: expect.stringMatching(/2\.14/) });
  });

  it('does not make a single intramuscular injection a 120-day course', () => {
    const shot: MedicationRequest = {
      ...medicationRequest(
        'im',
        'p',
        { coding: [{ system: RX, code: '6902', display: 'methylprednisolone' }], text: 'Depo-Medrol 40 mg IM once' },
        { authoredOn: daysAgo(NOW, 100) },
      ),
      dosageInstruction: [
        {
          timing: { repeat: { count: 1, frequency: 1, period: 1, periodUnit: 'd' } },
          route: { coding: [{ system: 'http://snomed.info/sct', code: '78421000', display: 'Intramuscular route' }] },
          doseAndRate: [{ doseQuantity: { value: 40, unit: 'mg', code: 'mg', system: UCUM } }],
        },
      ],
      dispenseRequest: { expectedSupplyDuration: { value: 120, unit: 'days', code: 'd', system: UCUM } },
    };
    const e = run([shot]);
    expect(e.findings).toEqual([]);
    expect(r1(e).reasons[0]?.code).toBe('below-threshold');
  });

  it('does not count a stopped order past the day it was stopped', () => {
    const e = run([course([mg(5)], { status: 'stopped', meta: { lastUpdated: daysAgo(NOW, 240) } })]);
    expect(e.findings).toEqual([]);
    expect(r1(e).reasons[0]?.text).toMatch(/30 days/);
  });

  it('counts no days for a stopped order that does not say when it stopped', () => {
    const e = run([course([mg(10)], { status: 'stopped' })]);
    expect(e.findings).toEqual([]);
    expect(r1(e).status).toBe('not-met');
  });

  it('does not count a course longer than its timing bounds allow', () => {
    const e = run([
      course([
        mg(10, {
          frequency: 1,
          period: 1,
          periodUnit: 'd',
          boundsDuration: { value: 6, unit: 'weeks', code: 'wk', system: UCUM },
        }),
      ]),
    ]);
    expect(e.findings).toEqual([]);
  });

  it('reads a taper sent without sequence numbers as steps, not as their sum', () => {
    const step = (n: number, days: number): Dosage =>
      mg(n, { frequency: 1, period: 1, periodUnit: 'd', boundsDuration: { value: days, code: 'd', system: UCUM } });
    // 20, 10 then 5 mg for a month each: 90 days in all, never more than 3 months at ≥ 2.5 mg/day.
    const e = run([course([step(20, 30), step(10, 30), step(5, 30)])]);
    expect(e.findings).toEqual([]);
    expect(r1(e).reasons[0]?.text).toMatch(/is 90 days/);
  });
});

describe('R1 and replacement-dose hydrocortisone', () => {
  const hc = (mg: number) =>
    ({
      ...medicationRequest(
        'hc',
        'p',
        { coding: [{ system: RX, code: '197782', display: 'hydrocortisone 10 MG Oral Tablet' }] },
        { authoredOn: daysAgo(NOW, 300), supplyDays: 90, repeats: 3 },
      ),
      dosageInstruction: [
        {
          timing: { repeat: { frequency: 2, period: 1, periodUnit: 'd' } },
          doseAndRate: [{ doseQuantity: { value: mg / 20, unit: 'TAB', code: 'TAB' } }],
        },
      ],
    }) as MedicationRequest;
  const dx = (code: string, display: string) =>
    ({
      resourceType: 'Condition',
      id: code,
      subject: { reference: 'Patient/p' },
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
      },
      code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code, display }] },
    }) as Resource;

  it('is not counted as exposure in congenital adrenal hyperplasia or hypopituitarism (20 mg/day in two doses)', () => {
    for (const [code, display] of [
      ['E25.0', 'Congenital adrenogenital disorders associated with enzyme deficiency'],
      ['E23.0', 'Hypopituitarism'],
    ] as const) {
      const e = run([hc(20), dx(code, display)]);
      expect(
        e.findings.map((f) => f.ruleId),
        code,
      ).not.toContain('glucocorticoid-bone');
      expect(r1(e).reasons[0]?.code, code).toBe('physiological-replacement');
    }
  });

  it('still counts hydrocortisone above replacement doses (40 mg/day)', () => {
    expect(run([hc(40), dx('E23.0', 'Hypopituitarism')]).findings.map((f) => f.ruleId)).toEqual([
      'glucocorticoid-bone',
    ]);
  });
});

// 10 mg a day for 120 days (30-day fills, 3 repeats), authored 50 days ago.
const planned = (status: MedicationRequest['status']): MedicationRequest => ({
  ...medicationRequest('plan', 'p', prednisone5, { authoredOn: daysAgo(NOW, 50), supplyDays: 30, repeats: 3 }),
  dosageInstruction: [tabs(2)],
  status,
});

describe('R1 on a prescription in force: judged on its plan, counted by the days taken', () => {
  it('fires 50 days into an active 120-day course, counting 50 days taken and naming the prescribed end', () => {
    const e = run([planned('active')]);
    expect(e.findings.map((f) => f.ruleId)).toEqual(['glucocorticoid-bone']);
    // The card's found lines count what was taken; the plan is a line of its own.
    const found = (e.findings[0]!.brief?.found ?? []).join(' ');
    expect(found).toMatch(/\b50 days at ≥/);
    expect(found).toMatch(/Prescribed to .*: a course of 120 days, more than 90/);
    const exposure = e.findings[0]!.measures.find((m) => m.code === 'glucocorticoid-exposure');
    expect(exposure?.value).toBe(50);
  });

  it('makes no card for the same course once stopped: its plan is no longer in force', () => {
    const e = run([planned('stopped')]);
    expect(e.findings).toEqual([]);
  });
});
