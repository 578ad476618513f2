import type { Patient, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../../config/knowledge-file';
import {
  concept,
  condition,
  dailyDosage,
  daysAgo,
  dxaOrder,
  lab,
  medicationRequest,
  patient,
} from '../../demo/builders';
import type { ContextDomain } from '../context';
import { evaluatePatient } from '../engine';
import { inputFromResources } from '../input';
import type { PatientEvaluation } from '../types';

const k = loadKnowledgeSync();
const NOW = new Date('2026-11-25T12:00:00Z');
const woman = (age: number): Patient => patient('p', 'female', `${2026 - age - 1}-06-01`);

function run(p: Patient, resources: Resource[], unavailable: ContextDomain[] = []): PatientEvaluation {
  return evaluatePatient({ ...inputFromResources(p, resources), unavailable }, k, NOW);
}
const outcomeOf = (e: PatientEvaluation, id: string) => e.outcomes.find((o) => o.ruleId === id)!;
const codes = (e: PatientEvaluation, id: string) => outcomeOf(e, id).reasons.map((r) => r.code);

const longPrednisone = (mg = 10) =>
  medicationRequest('pred', 'p', concept('rxnorm', '8640', 'prednisone'), {
    authoredOn: daysAgo(NOW, 120),
    supplyDays: 90,
    repeats: 1,
    dosage: [dailyDosage(mg, 'mg', 1)],
  });
const lowPair = () => [
  lab('cr', 'p', 'creatinineMass', 0.6, daysAgo(NOW, 10)),
  lab('cys', 'p', 'cystatinC', 1.0, daysAgo(NOW, 10, 10)),
];

describe('R1, long-term systemic glucocorticoid', () => {
  it('does not fire on a name-only match, as for an unverified code, and says it was a text match', () => {
    const r = medicationRequest(
      't',
      'p',
      { text: 'Prednisone 10 mg tab' },
      { authoredOn: daysAgo(NOW, 120), supplyDays: 90, repeats: 1, dosage: [dailyDosage(10, 'mg', 1)] },
    );
    const e = run(woman(60), [r]);
    expect(e.findings).toEqual([]);
    expect(outcomeOf(e, 'glucocorticoid-bone').reasons[0]).toMatchObject({
      code: 'unverified-code',
      text: expect.stringMatching(/text match/),
    });
  });

  it('fires for a drug coded by a verified ingredient code even when free text names the same drug', () => {
    const r = medicationRequest('t', 'p', concept('rxnorm', '8640', 'prednisone', 'Prednisone 10 mg tab'), {
      authoredOn: daysAgo(NOW, 120),
      supplyDays: 90,
      repeats: 1,
      dosage: [dailyDosage(10, 'mg', 1)],
    });
    expect(run(woman(60), [r]).findings.map((f) => f.ruleId)).toEqual(['glucocorticoid-bone']);
  });

  it('is suppressed in palliative care, naming the condition code', () => {
    const e = run(woman(70), [
      longPrednisone(),
      condition('pal', 'p', concept('icd10cm', 'Z51.5', 'Encounter for palliative care')),
    ]);
    expect(outcomeOf(e, 'glucocorticoid-bone').status).toBe('suppressed');
    expect(outcomeOf(e, 'glucocorticoid-bone').reasons[0]).toMatchObject({
      code: 'palliative-care',
      text: expect.stringMatching(/ICD-10-CM Z51\.5/),
    });
  });

  it('is suppressed for physiological hydrocortisone replacement in adrenal insufficiency, not for a higher dose', () => {
    const hc = (mg: number) =>
      medicationRequest('hc', 'p', concept('rxnorm', '5492', 'hydrocortisone'), {
        authoredOn: daysAgo(NOW, 300),
        supplyDays: 90,
        repeats: 3,
        dosage: [dailyDosage(mg, 'mg', 1)],
      });
    const addison = condition('ai', 'p', concept('icd10cm', 'E27.1', 'Primary adrenocortical insufficiency'));
    expect(codes(run(woman(55), [hc(20), addison]), 'glucocorticoid-bone')).toEqual(['physiological-replacement']);
    expect(outcomeOf(run(woman(55), [hc(60), addison]), 'glucocorticoid-bone').status).toBe('fired');
  });

  it('is suppressed by a DXA already ordered on the chart', () => {
    expect(codes(run(woman(66), [longPrednisone(), dxaOrder('sr', 'p')]), 'glucocorticoid-bone')).toEqual([
      'dxa-ordered',
    ]);
  });

  it('cannot judge without the medication list, and says what it could not check when DXA history is missing', () => {
    expect(codes(run(woman(66), [longPrednisone()], ['medications']), 'glucocorticoid-bone')).toEqual([
      'context-unavailable',
    ]);
    const f = run(woman(66), [longPrednisone()], ['bone-density']).findings[0]!;
    expect(f.statements.join(' ')).toMatch(/DXA history could not be checked/);
    expect(f.caveats.join(' ')).toMatch(/Could not check DXA results/);
  });

  it('gives one message when three bone rules fire: R1 carries R2 and R3, and the CCR is not shown', () => {
    const letrozole = medicationRequest('let', 'p', concept('atc', 'L02BG04', 'letrozole'), {
      authoredOn: daysAgo(NOW, 60),
      supplyDays: 90,
      dosage: [dailyDosage(2.5, 'mg', 1)],
    });
    const ra = condition('ra', 'p', concept('sct', '69896004', 'Rheumatoid arthritis'));
    const e = run(woman(64), [longPrednisone(), letrozole, ra, ...lowPair()]);
    expect(e.findings.map((f) => f.ruleId)).toEqual(['glucocorticoid-bone']);
    expect(codes(e, 'endocrine-therapy-bone')).toEqual(['superseded']);
    expect(codes(e, 'secondary-osteoporosis')).toEqual(['superseded']);
    expect(codes(e, 'low-ccr')).toContain('glucocorticoid');
    expect(e.findings[0]!.context.join(' ')).toMatch(
      /Also on aromatase inhibitor .*Secondary-osteoporosis risk factors on file: Rheumatoid arthritis/,
    );
  });
});

describe('R2, aromatase inhibitor or ADT', () => {
  it('does not fire on an unverified RxNorm code alone', () => {
    const e = run(woman(66), [
      medicationRequest('ex', 'p', concept('rxnorm', '258494', 'exemestane', 'Aromasin 25 mg'), {
        authoredOn: daysAgo(NOW, 20),
      }),
    ]);
    expect(codes(e, 'endocrine-therapy-bone')).toEqual(['unverified-code']);
  });

  it('is suppressed with bone metastases (configurable) and in palliative care', () => {
    const ai = medicationRequest('an', 'p', concept('rxnorm', '84857', 'anastrozole'), {
      authoredOn: daysAgo(NOW, 20),
    });
    const mets = condition('m', 'p', concept('icd10cm', 'C79.51', 'Secondary malignant neoplasm of bone'));
    expect(codes(run(woman(66), [ai, mets]), 'endocrine-therapy-bone')).toEqual(['bone-metastases']);
  });
});

describe('R3, secondary-osteoporosis conditions', () => {
  it('does not fire on an unverified condition code alone', () => {
    const e = run(woman(55), [condition('h', 'p', concept('icd10cm', 'E28.39', 'Other primary ovarian failure'))]);
    expect(codes(e, 'secondary-osteoporosis')).toEqual(['unverified-code']);
  });

  it('needs age 50 or a fragility fracture, and ignores resolved conditions as triggers unless the concept counts ever', () => {
    const ra = condition('ra', 'p', concept('icd10cm', 'M06.9', 'Rheumatoid arthritis, unspecified'));
    expect(codes(run(woman(45), [ra]), 'secondary-osteoporosis')).toEqual(['age-below-minimum']);
    // Hyperthyroidism counts while current; FRAX takes confirmed rheumatoid arthritis whatever its activity.
    const graves = condition('t', 'p', concept('icd10cm', 'E05.00', 'Thyrotoxicosis'), { clinicalStatus: 'resolved' });
    expect(codes(run(woman(60), [graves]), 'secondary-osteoporosis')).toEqual(['no-condition']);
    const inRemission = condition('ra', 'p', concept('icd10cm', 'M06.9', 'Rheumatoid arthritis'), {
      clinicalStatus: 'remission',
    });
    expect(run(woman(60), [inRemission]).outcomes.find((o) => o.ruleId === 'secondary-osteoporosis')?.status).toBe(
      'fired',
    );
  });
});

describe('the CCR card’s confounders', () => {
  it('suppress generously when conditions could not be read', () => {
    const e = run(woman(70), lowPair(), ['conditions']);
    expect(outcomeOf(e, 'low-ccr').status).toBe('suppressed');
    expect(outcomeOf(e, 'low-ccr').reasons[0]).toMatchObject({
      code: 'context-unavailable',
      text: expect.stringMatching(/problem list/),
    });
  });

  it('count CRP only within 14 days of the draw', () => {
    expect(
      outcomeOf(run(woman(70), [...lowPair(), lab('crp', 'p', 'crp', 30, daysAgo(NOW, 50))]), 'low-ccr').status,
    ).toBe('fired');
    expect(
      codes(
        run(woman(70), [...lowPair(), lab('crp', 'p', 'crp', 3, daysAgo(NOW, 12, 0), { unit: 'mg/dL' })]),
        'low-ccr',
      ),
    ).toEqual(['crp-high']);
  });

  it('count a pregnancy that ended within 3 months of the draw', () => {
    const ended = condition('preg', 'p', concept('sct', '77386006', 'Pregnancy'), {
      clinicalStatus: 'resolved',
      abatement: daysAgo(NOW, 60),
    });
    expect(codes(run(woman(50), [...lowPair(), ended]), 'low-ccr')).toEqual(['pregnancy']);
  });

  it('include trimethoprim by ATC (co-trimoxazole) and keep local glucocorticoids out', () => {
    const tmp = medicationRequest('tmp', 'p', concept('atc', 'J01EE01', 'sulfamethoxazole and trimethoprim'), {
      authoredOn: daysAgo(NOW, 15),
      supplyDays: 10,
    });
    expect(codes(run(woman(70), [...lowPair(), tmp]), 'low-ccr')).toEqual(['creatine-or-trimethoprim']);
    const drops = medicationRequest(
      'eye',
      'p',
      concept('atc', 'S01BA04', 'prednisolone', 'Prednisolone 1% eye drops'),
      { authoredOn: daysAgo(NOW, 15) },
    );
    expect(outcomeOf(run(woman(70), [...lowPair(), drops]), 'low-ccr').status).toBe('fired');
  });

  it('also stop the card that asks for the missing half of the pair', () => {
    const e = run(woman(70), [
      lab('cr', 'p', 'creatinineMass', 0.8, daysAgo(NOW, 20)),
      condition('t', 'p', concept('sct', '34486009', 'Hyperthyroidism')),
    ]);
    expect(codes(e, 'missing-ccr-input')).toEqual(['hyperthyroidism']);
  });
});

describe('R6, vitamin D', () => {
  it('adds nothing when vitamin D is not low, and says when it could not be read', () => {
    expect(
      codes(run(woman(66), [longPrednisone(), lab('vd', 'p', 'vitaminD', 25, daysAgo(NOW, 30))]), 'vitamin-d-context'),
    ).toEqual(['not-low']);
    expect(codes(run(woman(66), [longPrednisone()], ['vitamin-d']), 'vitamin-d-context')).toEqual([
      'context-unavailable',
    ]);
  });

  it('converts nmol/L and attaches only to bone cards, not the CCR card', () => {
    const e = run(woman(70), [...lowPair(), lab('vd', 'p', 'vitaminDMolar', 30, daysAgo(NOW, 10))]);
    expect(e.labs.find((l) => l.analyte === 'vitamin-d')?.value).toBeCloseTo(30 / 2.496, 1);
    expect(e.findings.map((f) => [f.ruleId, f.context.filter((l) => /vitamin D/.test(l)).length])).toEqual([
      ['low-ccr', 0],
    ]);
  });
});
