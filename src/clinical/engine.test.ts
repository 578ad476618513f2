import type { Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { concept, condition, dailyDosage, daysAgo, lab, medicationRequest, patient } from '../demo/builders';
import { evaluatePatient } from './engine';
import { inputFromResources } from './input';
import type { PatientEvaluation } from './types';

const k = loadKnowledgeSync();
const NOW = new Date('2026-11-25T12:00:00Z');
const woman80 = patient('p1', 'female', '1946-01-15');

function run(observations: Observation[], p = woman80, knowledge = k): PatientEvaluation {
  return evaluatePatient({ patient: p, observations }, knowledge, NOW);
}
const outcome = (e: PatientEvaluation, id: string) => e.outcomes.find((o) => o.ruleId === id);
const codes = (e: PatientEvaluation, id: string) => outcome(e, id)?.reasons.map((r) => r.code) ?? [];
const lowPair = (pid = 'p1', day = 10) => [
  lab('cr', pid, 'creatinineMass', 0.6, daysAgo(NOW, day)),
  lab('cys', pid, 'cystatinC', 1.0, daysAgo(NOW, day, 20)),
];

describe("another patient's resources in the data", () => {
  it('never count for this patient: their labs, medicines and conditions are left out', () => {
    const mine = lowPair();
    const theirs = lowPair('someone-else', 3).map((o) => ({ ...o, id: `${o.id}-x` }));
    const e = evaluatePatient(
      {
        patient: woman80,
        observations: [...mine, ...theirs],
        medicationRequests: [
          medicationRequest('pred-x', 'someone-else', concept('rxnorm', '8640', 'prednisone'), {
            authoredOn: daysAgo(NOW, 200),
            supplyDays: 180,
            dosage: [dailyDosage(20, 'mg', 1)],
          }),
        ],
        conditions: [condition('thy-x', 'someone-else', concept('icd10cm', 'E05.00', 'Thyrotoxicosis'))],
      },
      k,
      NOW,
    );
    // Their glucocorticoid and hyperthyroidism would suppress the card; their newer draw would replace mine.
    expect(outcome(e, 'low-ccr')?.status).toBe('fired');
    expect(e.findings.find((x) => x.ruleId === 'low-ccr')?.measures.find((m) => m.code === 'ccr')?.derivedFrom).toEqual(
      ['Observation/cr', 'Observation/cys'],
    );
    expect(outcome(e, 'glucocorticoid-bone')?.status).not.toBe('fired');
  });
});

describe('the low-CCR rule', () => {
  it('fires for an 80-year-old woman whose same-draw CCR is below the provisional threshold', () => {
    const e = run(lowPair());
    expect(outcome(e, 'low-ccr')?.status).toBe('fired');
    const f = e.findings.find((x) => x.ruleId === 'low-ccr');
    expect(f?.measures.find((m) => m.code === 'ccr')?.value).toBeCloseTo(0.6, 10);
    expect(f?.measures.find((m) => m.code === 'ccr')?.derivedFrom).toEqual(['Observation/cr', 'Observation/cys']);
    expect(f?.caveats.join(' ')).toContain('PROVISIONAL');
  });

  it('does not fire when the ratio is at or above the threshold', () => {
    const e = run([
      lab('cr', 'p1', 'creatinineMass', 0.9, daysAgo(NOW, 5)),
      lab('cys', 'p1', 'cystatinC', 1.0, daysAgo(NOW, 5)),
    ]);
    expect(outcome(e, 'low-ccr')?.status).toBe('not-met');
    expect(codes(e, 'low-ccr')).toContain('ccr-not-low');
  });

  it('takes creatinine in µmol/L and converts it before the ratio', () => {
    const e = run([
      lab('cr', 'p1', 'creatinineMolar', 53, daysAgo(NOW, 5)),
      lab('cys', 'p1', 'cystatinC', 1.0, daysAgo(NOW, 5)),
    ]);
    expect(e.measures.find((m) => m.code === 'ccr')?.value).toBeCloseTo(53 / 88.42, 3);
    expect(outcome(e, 'low-ccr')?.status).toBe('fired');
  });

  it('is suppressed when eGFRcr-cys is below 60', () => {
    const e = run([
      lab('cr', 'p1', 'creatinineMass', 0.6, daysAgo(NOW, 5)),
      lab('cys', 'p1', 'cystatinC', 1.8, daysAgo(NOW, 5)),
    ]);
    expect(e.measures.find((m) => m.code === 'egfr-cr-cys-2021')!.value).toBeLessThan(60);
    expect(outcome(e, 'low-ccr')?.status).toBe('suppressed');
    expect(codes(e, 'low-ccr')).toContain('egfr-below-minimum');
    expect(e.findings).toHaveLength(0);
  });

  it('is suppressed when creatinine rose by 0.3 mg/dL within 48 hours of the draw (AKI pattern)', () => {
    const e = run([lab('cr0', 'p1', 'creatinineMass', 0.3, daysAgo(NOW, 11)), ...lowPair()]);
    expect(codes(e, 'low-ccr')).toContain('aki-pattern');
  });

  it('is suppressed when creatinine and cystatin C were not drawn within 24 hours', () => {
    const e = run([
      lab('cr', 'p1', 'creatinineMass', 0.6, daysAgo(NOW, 10)),
      lab('cys', 'p1', 'cystatinC', 1.0, daysAgo(NOW, 12)),
    ]);
    expect(outcome(e, 'low-ccr')?.status).toBe('suppressed');
    expect(codes(e, 'low-ccr')).toContain('not-same-draw');
    expect(e.measures.find((m) => m.code === 'ccr')).toBeUndefined();
  });

  it('is suppressed for a patient under 18', () => {
    const e = run(lowPair(), patient('p1', 'female', '2012-03-01'));
    expect(codes(e, 'low-ccr')).toContain('age-below-adult');
    expect(e.measures.map((m) => m.code)).not.toContain('egfr-cr-2021');
  });

  it('does not apply below the configured minimum age of 50', () => {
    const e = run(lowPair(), patient('p1', 'female', '1990-03-01'));
    expect(outcome(e, 'low-ccr')?.status).toBe('not-met');
    expect(codes(e, 'low-ccr')).toContain('age-below-minimum');
  });

  it('uses a per-sex threshold from site configuration', () => {
    const site = structuredClone(k);
    site.rules['low-ccr'].threshold.below.female = 0.5;
    expect(outcome(run(lowPair(), woman80, site), 'low-ccr')?.status).toBe('not-met');
  });
});

describe('observation selection', () => {
  it('uses the age on the specimen date, not today', () => {
    // Born 1976-06-01: 49 on the day of a draw in Dec 2025, 50 today.
    const p = patient('p1', 'male', '1976-06-01');
    const e = evaluatePatient(
      { patient: p, observations: [lab('cr', 'p1', 'creatinineMass', 1.0, '2025-12-01T08:00:00Z')] },
      k,
      NOW,
    );
    expect(e.measures.find((m) => m.code === 'egfr-cr-2021')?.ageAtSpecimen).toBe(49);
  });

  it('lets the newest valid pair win and ignores preliminary, implausible and out-of-window results', () => {
    const e = run([
      lab('old-cr', 'p1', 'creatinineMass', 1.0, daysAgo(NOW, 100)),
      lab('old-cys', 'p1', 'cystatinC', 1.0, daysAgo(NOW, 100)),
      lab('new-cr', 'p1', 'creatinineMass', 0.8, daysAgo(NOW, 20)),
      lab('new-cys', 'p1', 'cystatinC', 1.0, daysAgo(NOW, 20)),
      lab('prelim-cr', 'p1', 'creatinineMass', 0.5, daysAgo(NOW, 2), { status: 'preliminary' }),
      lab('prelim-cys', 'p1', 'cystatinC', 1.0, daysAgo(NOW, 2)),
      lab('absurd-cr', 'p1', 'creatinineMass', 40, daysAgo(NOW, 1)),
      lab('ancient-cys', 'p1', 'cystatinC', 1.0, daysAgo(NOW, 400)),
    ]);
    expect(e.measures.find((m) => m.code === 'ccr')?.derivedFrom).toEqual([
      'Observation/new-cr',
      'Observation/new-cys',
    ]);
    expect(e.rejected.map((r) => r.reference).sort()).toEqual(['Observation/absurd-cr', 'Observation/prelim-cr']);
  });

  it('omits every equation that needs sex when the administrative gender is unknown', () => {
    const e = run(lowPair(), patient('p1', 'unknown', '1946-01-15'));
    expect(e.measures.map((m) => m.code).sort()).toEqual(['ccr', 'sarcopenia-index']);
    expect(codes(e, 'low-ccr')).toContain('sex-unknown');
  });
});

describe('HOMA context', () => {
  const homa = (
    ins: number,
    gluMgDl: number,
    kind: 'glucoseFasting' | 'glucoseRandom' = 'glucoseFasting',
    insKind: 'insulinFasting' | 'insulin' = 'insulinFasting',
  ) => [lab('ins', 'p1', insKind, ins, daysAgo(NOW, 10, 5)), lab('glu', 'p1', kind, gluMgDl, daysAgo(NOW, 10, 5))];

  it('never makes a card by itself', () => {
    const e = run(homa(15, 100));
    expect(outcome(e, 'homa-context')?.status).toBe('context');
    expect(e.findings).toHaveLength(0);
    expect(e.measures.find((m) => m.code === 'homa-ir')?.value).toBeCloseTo((15 * (100 / 18.016)) / 22.5, 6);
  });

  it('adds its line to a fired low-CCR card', () => {
    const e = run([...lowPair(), ...homa(15, 100)]);
    const f = e.findings.find((x) => x.ruleId === 'low-ccr');
    expect(f?.context.join(' ')).toMatch(/HOMA-IR 3\.70 \(≥ 2\) with HOMA-β 146%/);
  });

  it('is suppressed when fasting glucose is below 4.0 or at least 7.0 mmol/L', () => {
    expect(codes(run(homa(12, 70)), 'homa-context')).toContain('glucose-below-minimum');
    expect(codes(run(homa(8, 130)), 'homa-context')).toContain('glucose-diabetic-range');
  });

  it('computes nothing from a draw that is not known to be fasting', () => {
    const e = run(homa(15, 100, 'glucoseRandom', 'insulin'));
    expect(e.measures.find((m) => m.code === 'homa-ir')).toBeUndefined();
    expect(codes(e, 'homa-context')).toContain('not-fasting');
  });

  it('converts pmol/L insulin with 6.00', () => {
    const e = run([
      lab('ins', 'p1', 'insulinMolarFasting', 90, daysAgo(NOW, 3)),
      lab('glu', 'p1', 'glucoseFastingMolar', 5.5, daysAgo(NOW, 3)),
    ]);
    expect(e.measures.find((m) => m.code === 'homa-ir')?.value).toBeCloseTo((15 * 5.5) / 22.5, 6);
  });
});

describe('the missing-data rule', () => {
  it('suggests cystatin C when creatinine is on file without it', () => {
    const e = run([lab('cr', 'p1', 'creatinineMass', 0.9, daysAgo(NOW, 30))]);
    const f = e.findings.find((x) => x.ruleId === 'missing-ccr-input');
    expect(f?.suggestions[0]?.orders.map((o) => o.code)).toEqual(['33863-2']);
  });

  it('suggests both tests on one draw when they were drawn apart', () => {
    const e = run([
      lab('cr', 'p1', 'creatinineMass', 0.6, daysAgo(NOW, 10)),
      lab('cys', 'p1', 'cystatinC', 1.0, daysAgo(NOW, 40)),
    ]);
    expect(e.findings.map((f) => f.ruleId)).toEqual(['missing-ccr-input']);
    expect(e.findings[0]?.suggestions[0]?.orders.map((o) => o.code)).toEqual(['2160-0', '33863-2']);
  });

  it('stays quiet for a patient with no labs at all', () => {
    const e = run([]);
    expect(e.findings).toHaveLength(0);
    expect(e.measures).toHaveLength(0);
  });
});

describe('the adult gate', () => {
  it('keeps every rule, and every suggested order, away from a 12-year-old on long-term prednisone', () => {
    const child = patient('kid', 'female', '2014-05-01');
    const pred = medicationRequest('pred', 'kid', concept('rxnorm', '8640', 'prednisone'), {
      authoredOn: daysAgo(NOW, 150),
      supplyDays: 90,
      repeats: 1,
      dosage: [dailyDosage(20, 'mg', 1)],
    });
    const nephrotic = condition('ra', 'kid', concept('sct', '69896004', 'Rheumatoid arthritis'));
    const e = evaluatePatient(inputFromResources(child, [pred, nephrotic, ...lowPair('kid')]), k, NOW);
    expect(e.findings).toEqual([]);
    for (const o of e.outcomes)
      expect(
        o.reasons.map((r) => r.code),
        o.ruleId,
      ).toEqual(['age-below-adult']);
    expect(e.outcomes[0]!.reasons[0]!.params).toEqual({ age: 12, minimum: 18 });
  });

  it('without a birth date runs no age-dependent rule and says why', () => {
    const e = run(lowPair(), patient('p1', 'female', undefined));
    for (const o of e.outcomes) expect(o.reasons.map((r) => r.code)).toEqual(['age-unknown']);
  });

  it('runs a rule at any age when the knowledge file lists it', () => {
    const site = structuredClone(k);
    site.ageGate.allAges = ['low-ccr'];
    const e = run(lowPair(), patient('p1', 'female', '2012-03-01'), site);
    expect(codes(e, 'low-ccr')).toContain('age-below-adult'); // the rule's own adult-equation check still speaks
    expect(codes(e, 'homa-context')).toEqual(['age-below-adult']);
  });

  it('leaves CKD-EPI eGFR out of the measures under 18', () => {
    const e = run(lowPair(), patient('p1', 'female', '2012-03-01'));
    expect(e.measures.map((m) => m.code).filter((c) => c.startsWith('egfr'))).toEqual([]);
  });
});
