import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CodeableConcept, Condition, Dosage, MedicationRequest, Observation, Patient, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { renderDetail } from '../cds/brief';
import type { ContextDomain } from '../clinical/context';
import { evaluatePatient } from '../clinical/engine';
import { inputFromResources } from '../clinical/input';
import type { Knowledge, RuleText } from '../clinical/knowledge';
import {
  creatinineOnly,
  crp,
  k,
  lowPair,
  man,
  NOW,
  prednisone,
  ra,
  run,
  textUnit,
  woman,
} from '../clinical/rules/test-records';
import { placeholders, render } from '../clinical/text';
import {
  concept,
  condition,
  dailyDosage,
  daysAgo,
  dxaOrder,
  dxaReport,
  lab,
  medicationRequest,
  patient,
} from '../demo/builders';
import { loadKnowledgeSync } from './knowledge-file';

type Records = {
  who: Patient;
  resources: Resource[];
  unavailable?: ContextDomain[];
  knowledge?: Knowledge;
  orders?: Resource[];
};

const notProvisional = structuredClone(k);
notProvisional.rules['low-ccr'].threshold.provisional = false;
// The engine's adult gate answers first for children and unknown ages; listed in allAges, the rule speaks for itself.
const allAges = structuredClone(k);
allAges.ageGate.allAges = ['low-ccr', 'missing-ccr-input', 'secondary-osteoporosis', 'homa-context'];
// Every rule for all ages (the glucocorticoid card's age-unknown line), one rule switched off, unreadable confounders shown not suppressing.
const everyAge = structuredClone(k);
everyAge.ageGate.allAges = Object.keys(k.rules);
const ccrOff = structuredClone(k);
ccrOff.rules['low-ccr'].enabled = false;
const uncheckedShown = structuredClone(k);
uncheckedShown.rules['low-ccr'].confounders.uncheckedSuppresses = false;
// No shipped concept maps to FRAX's glucocorticoid input yet; a site's could (a code for long-term steroid use).
const raAsGlucocorticoidInput = structuredClone(k);
for (const c of raAsGlucocorticoidInput.codesets.conditions.concepts)
  if (c.id === 'rheumatoid-arthritis') c.fraxInput = 'glucocorticoids';
const bicalutamide: MedicationRequest = medicationRequest('aa', 'p', concept('atc', 'L02BB03', 'bicalutamide'), {
  authoredOn: daysAgo(NOW, 60),
  supplyDays: 90,
  repeats: 3,
  dosage: [dailyDosage(50, 'mg', 1)],
});
const tsh = (value: number, effectiveDateTime: string): Observation => ({
  resourceType: 'Observation',
  id: 'tsh',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '3016-3' }] },
  subject: { reference: 'Patient/p' },
  effectiveDateTime,
  valueQuantity: { value, unit: 'mIU/L', system: 'http://unitsofmeasure.org', code: 'm[IU]/L' },
});
const fracture = condition(
  'fx',
  'p',
  concept('icd10cm', 'M80.08', 'Age-related osteoporosis with current pathological fracture, vertebra'),
);
const omeprazole = medicationRequest('ppi', 'p', concept('atc', 'A02BC01', 'omeprazole'), {
  authoredOn: daysAgo(NOW, 30),
  supplyDays: 90,
  repeats: 3,
  dosage: [dailyDosage(20, 'mg', 1)],
});
const alendronate = medicationRequest('aln', 'p', concept('rxnorm', '46041', 'alendronate'), {
  authoredOn: daysAgo(NOW, 30),
  supplyDays: 90,
  repeats: 3,
  dosage: [dailyDosage(70, 'mg', 1)],
});
const palliative = condition('pal', 'p', concept('icd10cm', 'Z51.5', 'Encounter for palliative care'));
const noStatus = (c: Condition): Condition => {
  const { clinicalStatus: _dropped, ...rest } = c;
  return rest;
};
const letrozole: MedicationRequest = medicationRequest('ai', 'p', concept('atc', 'L02BG04', 'letrozole'), {
  authoredOn: daysAgo(NOW, 60),
  supplyDays: 90,
  repeats: 3,
  dosage: [dailyDosage(2.5, 'mg', 1)],
});

const UCUM = 'http://unitsofmeasure.org';
const daily = (mg: number, bounds?: number): Dosage => ({
  timing: {
    repeat: {
      frequency: 1,
      period: 1,
      periodUnit: 'd',
      ...(bounds ? { boundsDuration: { value: bounds, unit: 'days', code: 'd', system: UCUM } } : {}),
    },
  },
  doseAndRate: [{ doseQuantity: { value: mg, unit: 'mg', system: UCUM, code: 'mg' } }],
});
const ORAL = { coding: [{ system: 'http://snomed.info/sct', code: '26643006', display: 'Oral route' }] };
const rx = (id: string, code: CodeableConcept, days: number, dosage: Dosage[], supplyDays = 90): MedicationRequest =>
  medicationRequest(id, 'p', code, { authoredOn: daysAgo(NOW, days), supplyDays, repeats: 3, dosage });
const pred = concept('rxnorm', '8640', 'prednisone');
const hypopituitarism = condition('hp', 'p', concept('icd10cm', 'E23.0', 'Hypopituitarism'));
const insulinF = (v: number) => lab('ins', 'p', 'insulinFasting', v, daysAgo(NOW, 20));
const glucoseF = (mgdl: number) => lab('glu', 'p', 'glucoseFasting', mgdl, daysAgo(NOW, 20));

/** Records that walk every rule through its fire, suppress and quiet paths, shaped as EHRs send them. */
const PATHS: Records[] = [
  // A long glucocorticoid course beside denosumab last given eight months ago: overdue, not current therapy.
  {
    who: woman(70),
    resources: [
      rx('pred-dmab', pred, 200, [{ ...daily(10), route: ORAL }]),
      {
        resourceType: 'MedicationAdministration',
        id: 'dmab-old',
        status: 'completed',
        subject: { reference: 'Patient/p' },
        medicationCodeableConcept: concept('rxnorm', '993449', 'denosumab'),
        effectiveDateTime: daysAgo(NOW, 240),
      } as Resource,
    ],
  },
  // A glucocorticoid course 50 days in, prescribed for 120: judged on its plan, counted by the days taken.
  { who: woman(70), resources: [rx('pred-plan', pred, 50, [{ ...daily(10), route: ORAL }], 30)] },
  // A GnRH agonist in a woman: ovarian suppression, on every surface of the card.
  {
    who: woman(45),
    resources: [rx('leup', concept('atc', 'L02AE02', 'leuprorelin'), 30, [{ ...daily(3.75), route: ORAL }], 28)],
  },
  { who: { ...woman(80), deceasedDateTime: '2025-03-01' }, resources: lowPair() },
  { who: woman(80), resources: [...lowPair(), crp('crp', 4, daysAgo(NOW, 12)), tsh(1.5, daysAgo(NOW, 12))] },
  { who: woman(63), resources: [bicalutamide] },
  { who: woman(60), resources: [ra], knowledge: raAsGlucocorticoidInput },
  { who: woman(80), resources: lowPair() },
  { who: man(80), resources: lowPair() },
  { who: woman(80), resources: lowPair(), knowledge: notProvisional },
  { who: patient('p', 'female', undefined), resources: lowPair(), knowledge: allAges },
  { who: patient('p', 'female', '2010-02-01'), resources: lowPair(), knowledge: allAges },
  { who: patient('p', 'unknown', '1950-01-01'), resources: lowPair() },
  { who: patient('p', 'female', '2010-02-01'), resources: lowPair() },
  { who: woman(40), resources: lowPair() },
  {
    who: woman(80),
    resources: [
      lab('cr', 'p', 'creatinineMass', 0.6, daysAgo(NOW, 40)),
      lab('cys', 'p', 'cystatinC', 1.0, daysAgo(NOW, 10)),
    ],
  },
  { who: woman(80), resources: creatinineOnly() },
  {
    who: woman(80),
    resources: [
      lab('cr', 'p', 'creatinineMass', 0.6, daysAgo(NOW, 5)),
      lab('cys', 'p', 'cystatinC', 1.8, daysAgo(NOW, 5)),
    ],
  },
  { who: woman(80), resources: [...lowPair(10), lab('cr0', 'p', 'creatinineMass', 0.2, daysAgo(NOW, 11))] },
  { who: woman(80), resources: lowPair(), unavailable: ['crp', 'bmi'] },
  {
    who: woman(80),
    resources: [
      lab('cr', 'p', 'creatinineMass', 1.0, daysAgo(NOW, 10)),
      lab('cys', 'p', 'cystatinC', 1.0, daysAgo(NOW, 10, 10)),
    ],
  },
  { who: woman(40), resources: creatinineOnly() },
  { who: woman(80), resources: creatinineOnly(), unavailable: ['ccr-labs'] },
  { who: woman(80), resources: [] },
  { who: woman(60), resources: [ra] },
  { who: woman(60), resources: [ra], unavailable: ['conditions'] },
  { who: woman(55), resources: [condition('h', 'p', concept('icd10cm', 'E28.39', 'Other primary ovarian failure'))] },
  { who: woman(45), resources: [ra] },
  { who: patient('p', 'female', undefined), resources: [ra], knowledge: allAges },
  { who: woman(60), resources: [ra, dxaReport('dxa', 'p', daysAgo(NOW, 200))] },
  { who: woman(60), resources: [prednisone(10)] },
  { who: woman(63), resources: [letrozole] },
  // The missing-lab card: which half is missing, a rejected result, and why a new pair could not be read.
  { who: woman(80), resources: [lab('cys', 'p', 'cystatinC', 1.0, daysAgo(NOW, 10))] },
  {
    who: woman(80),
    resources: [
      lab('cys', 'p', 'cystatinC', 1.0, daysAgo(NOW, 10)),
      textUnit(lab('cr', 'p', 'creatinineMass', 0.6, daysAgo(NOW, 20)), 'mg/furlong'),
    ],
  },
  {
    who: woman(80),
    resources: [...creatinineOnly(), textUnit(lab('cys', 'p', 'cystatinC', 1.0, daysAgo(NOW, 20)), 'mg/furlong')],
  },
  { who: woman(80), resources: creatinineOnly(2.5) },
  { who: patient('p', 'unknown', '1950-01-01'), resources: creatinineOnly() },
  { who: woman(80), resources: [...creatinineOnly(1.0, 10), lab('cr0', 'p', 'creatinineMass', 0.6, daysAgo(NOW, 11))] },
  // What distorts the ratio: each confounder the CCR card is quiet for.
  { who: woman(80), resources: [...lowPair(), prednisone(10)] },
  {
    who: woman(80),
    resources: [
      ...lowPair(),
      medicationRequest('tmp', 'p', concept('rxnorm', '10829', 'trimethoprim'), {
        authoredOn: daysAgo(NOW, 15),
        supplyDays: 14,
      }),
    ],
  },
  { who: woman(80), resources: [...lowPair(), condition('c', 'p', concept('sct', '34486009', 'Hyperthyroidism'))] },
  { who: woman(51), resources: [...lowPair(), condition('c', 'p', concept('sct', '77386006', 'Pregnancy'))] },
  {
    who: woman(80),
    resources: [...lowPair(), condition('c', 'p', concept('icd10cm', 'Z89.6', 'Acquired absence of leg above knee'))],
  },
  {
    who: woman(80),
    resources: [...lowPair(), condition('c', 'p', concept('icd10cm', 'Z99.2', 'Dependence on renal dialysis'))],
  },
  {
    who: woman(80),
    resources: [
      ...lowPair(),
      condition('c', 'p', concept('icd10cm', 'K70.30', 'Alcoholic cirrhosis of liver without ascites')),
    ],
  },
  { who: woman(80), resources: [...lowPair(), crp('crp', 30, daysAgo(NOW, 12))] },
  { who: woman(80), resources: [...lowPair(), crp('crp', 50, daysAgo(NOW, 12), '<')] },
  { who: woman(80), resources: [...lowPair(), lab('bmi', 'p', 'bmi', 42, daysAgo(NOW, 30))] },
  { who: woman(80), resources: [...lowPair(), lab('bmi', 'p', 'bmi', 16, daysAgo(NOW, 30))] },
  { who: woman(80), resources: [...lowPair(), lab('bmi', 'p', 'bmi', 45, daysAgo(NOW, 30), { comparator: '>' })] },
  { who: woman(80), resources: [...lowPair(), textUnit(lab('bmi', 'p', 'bmi', 30, daysAgo(NOW, 30)), 'mg/furlong')] },
  // Glucocorticoids: each reason a course is not counted or not carded.
  { who: woman(63), resources: [letrozole, prednisone(10)], unavailable: ['medications'] },
  {
    who: woman(66),
    resources: [
      medicationRequest('cream', 'p', concept('rxnorm', '5492', 'hydrocortisone', 'Hydrocortisone 1% Topical Cream'), {
        authoredOn: daysAgo(NOW, 30),
      }),
    ],
  },
  { who: woman(66), resources: [rx('nr', pred, 200, [daily(10)])] },
  {
    who: woman(66),
    resources: [
      rx('nd', concept('rxnorm', '8640', 'prednisone'), 200, [
        {
          route: ORAL,
          timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } },
          doseAndRate: [{ doseQuantity: { value: 1, unit: 'TAB', code: 'TAB' } }],
        },
      ]),
    ],
  },
  {
    who: woman(66),
    resources: [
      rx('mwf', pred, 270, [
        {
          ...daily(5),
          route: ORAL,
          timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd', dayOfWeek: ['mon', 'wed', 'fri'] } },
        },
      ]),
    ],
  },
  { who: woman(66), resources: [rx('taper', pred, 200, [{ ...daily(20, 30), route: ORAL }])] },
  {
    who: woman(66),
    resources: [],
    orders: [
      { ...rx('draft', pred, 0, [{ ...daily(10, 14), route: ORAL }], 14), status: 'draft' } as MedicationRequest,
    ],
  },
  // Order hooks: a planned course (expected), beside orders that cannot be counted (unknown route code, no equivalence).
  {
    who: woman(66),
    resources: [],
    orders: [
      { ...rx('draft-long', pred, 0, [{ ...daily(10), route: ORAL }], 120), status: 'draft' } as MedicationRequest,
      {
        ...rx('draft-odd', pred, 0, [
          { ...daily(10), route: { coding: [{ system: 'http://snomed.info/sct', code: '999999001' }] } },
        ]),
        status: 'draft',
      } as MedicationRequest,
      {
        // A dose in a unit no strength converts: the order's dose could not be read (deflazacort now converts).
        ...rx('draft-dfz', concept('rxnorm', '22396', 'deflazacort'), 0, [
          { ...daily(30), route: ORAL, doseAndRate: [{ doseQuantity: { value: 1, unit: 'spoonful' } }] },
        ]),
        status: 'draft',
      } as MedicationRequest,
    ],
  },
  {
    who: woman(66),
    resources: [],
    orders: [
      {
        ...rx('draft-ai', letrozole.medicationCodeableConcept as CodeableConcept, 0, [daily(2.5)]),
        status: 'draft',
      } as MedicationRequest,
    ],
  },
  {
    who: woman(60),
    resources: [
      medicationRequest(
        't',
        'p',
        { text: 'Prednisone 10 mg tab' },
        { authoredOn: daysAgo(NOW, 120), supplyDays: 90, repeats: 1, dosage: [dailyDosage(10, 'mg', 1)] },
      ),
    ],
  },
  { who: woman(66), resources: [prednisone(10), dxaReport('dxa', 'p', daysAgo(NOW, 200))] },
  {
    who: woman(66),
    resources: [
      rx('hc', concept('rxnorm', '5492', 'hydrocortisone'), 300, [
        { ...daily(10), route: ORAL, timing: { repeat: { frequency: 2, period: 1, periodUnit: 'd' } } },
      ]),
      hypopituitarism,
    ],
  },
  // Aromatase inhibitors: a short course, an unverified code, a baseline DXA already done.
  {
    who: woman(33),
    resources: [rx('ovi', letrozole.medicationCodeableConcept as CodeableConcept, 10, [daily(2.5, 5)], 5)],
  },
  {
    who: woman(66),
    resources: [
      medicationRequest('ex', 'p', concept('rxnorm', '258494', 'exemestane', 'Aromasin 25 mg'), {
        authoredOn: daysAgo(NOW, 20),
      }),
    ],
  },
  { who: woman(63), resources: [letrozole, dxaReport('dxa', 'p', daysAgo(NOW, 30))] },
  // HOMA: each of the four NHANES groups, then each reason it stays off a card.
  { who: woman(60), resources: [ra, insulinF(4), glucoseF(95)] },
  { who: woman(60), resources: [ra, insulinF(8), glucoseF(85)] },
  { who: woman(60), resources: [ra, insulinF(10), glucoseF(95)] },
  { who: woman(60), resources: [ra, insulinF(12), glucoseF(110)] },
  { who: patient('p', 'female', '2010-02-01'), resources: [insulinF(10), glucoseF(95)], knowledge: allAges },
  { who: woman(60), resources: [ra, insulinF(10), lab('glu', 'p', 'glucoseRandom', 180, daysAgo(NOW, 20, 25))] },
  { who: woman(60), resources: [ra, insulinF(10), glucoseF(68)] },
  { who: woman(60), resources: [ra, insulinF(10), glucoseF(140)] },
  { who: woman(60), resources: [ra, insulinF(10), glucoseF(95), prednisone(20)] },
  {
    who: woman(60),
    resources: [ra, insulinF(10), glucoseF(95), condition('preg', 'p', concept('sct', '77386006', 'Pregnancy'))],
  },
  { who: woman(60), resources: [ra, insulinF(10), glucoseF(95)], unavailable: ['medications'] },
  // 25-OH vitamin D: low (a line on the card), not low, not readable.
  { who: woman(60), resources: [ra, lab('vd', 'p', 'vitaminD', 14, daysAgo(NOW, 30))] },
  { who: woman(60), resources: [ra, lab('vd', 'p', 'vitaminD', 25, daysAgo(NOW, 30))] },
  { who: woman(60), resources: [ra], unavailable: ['vitamin-d'] },
  // Card sentences only some records reach: an ended course, under 40, a course with a part not counted, age unknown.
  { who: woman(66), resources: [rx('ended', pred, 200, [{ ...daily(10), route: ORAL }], 30)] },
  { who: woman(35), resources: [prednisone(10)] },
  {
    who: woman(66),
    resources: [
      prednisone(10),
      medicationRequest('cream', 'p', concept('rxnorm', '5492', 'hydrocortisone', 'Hydrocortisone 1% Topical Cream'), {
        authoredOn: daysAgo(NOW, 30),
      }),
    ],
  },
  { who: patient('p', 'female', undefined), resources: [prednisone(10)], knowledge: everyAge },
  { who: woman(63), resources: [letrozole], unavailable: ['ccr-labs'] },
  {
    who: man(70),
    resources: [
      medicationRequest(
        'adt',
        'p',
        concept('atc', 'L02AE02', 'leuprorelin', 'Leuprolide acetate 22.5 mg depot injection'),
        { authoredOn: daysAgo(NOW, 60), supplyDays: 90, repeats: 3 },
      ),
    ],
  },
  { who: woman(80), resources: creatinineOnly(), unavailable: ['crp'] },
  {
    who: woman(80),
    resources: [...lowPair(), textUnit(lab('bmi', 'p', 'bmi', 30, daysAgo(NOW, 30)), 'mg/furlong')],
    knowledge: uncheckedShown,
  },
  {
    who: woman(60),
    resources: [
      ra,
      noStatus(condition('t2', 'p', concept('sct', '44054006', 'Type 2 diabetes mellitus'))),
      fracture,
      omeprazole,
      ...creatinineOnly(),
    ],
  },
  { who: woman(66), resources: [prednisone(10), ra, fracture] },
  // What every rule shares: a rule switched off, already under bone care, a DXA on file or ordered, palliative care.
  { who: woman(80), resources: lowPair(), knowledge: ccrOff },
  { who: woman(60), resources: [ra, alendronate] },
  { who: woman(60), resources: [ra, dxaOrder('so', 'p')] },
  { who: woman(60), resources: [ra], orders: [dxaOrder('draft-dxa', 'p', 'draft')] },
  { who: woman(60), resources: [ra, palliative] },
  { who: woman(60), resources: [ra, dxaReport('old', 'p', daysAgo(NOW, 1000))] },
  { who: woman(60), resources: [ra], unavailable: ['bone-density', 'bone-density-orders', 'osteoporosis-therapy'] },
  { who: woman(60), resources: [ra], unavailable: ['palliative-care'] },
  { who: woman(80), resources: [...lowPair(), dxaReport('dxa', 'p', daysAgo(NOW, 200))] },
  { who: woman(80), resources: [...lowPair(), dxaOrder('so', 'p')] },
];

function evaluate(p: Records, knowledge: Knowledge) {
  const input = { ...inputFromResources(p.who, p.resources), unavailable: p.unavailable ?? [] };
  return evaluatePatient(p.orders ? { ...input, draftOrders: { resources: p.orders } } : input, knowledge, NOW);
}

/** Watches which templates of each rule's text the rules read while they evaluate (they render what they read). */
function watched(base: Knowledge): { knowledge: Knowledge; used: Set<string> } {
  const used = new Set<string>();
  const knowledge = structuredClone(base);
  for (const [id, rule] of [...Object.entries(knowledge.rules), ['text', knowledge]] as [
    string,
    { text?: RuleText },
  ][]) {
    if (!rule.text) continue;
    const spy = <T extends object>(o: T, prefix: string): T =>
      new Proxy(o, {
        get: (t, key) => (
          typeof key === 'string' && key in t && used.add(`${id}.${prefix}${key}`), Reflect.get(t, key)
        ),
      });
    rule.text = spy(
      {
        ...rule.text,
        ...(rule.text.card ? { card: spy(rule.text.card, 'card.') } : {}),
        ...(rule.text.reasons ? { reasons: spy(rule.text.reasons, 'reasons.') } : {}),
      },
      '',
    );
  }
  return { knowledge, used };
}

function templates(knowledge: Knowledge): [string, string][] {
  return [...Object.entries(knowledge.rules), ['text', knowledge] as const].flatMap(([id, rule]) => {
    const t = (rule as { text?: RuleText }).text;
    if (!t) return [];
    return [
      ...(['why', 'cite', 'action'] as const)
        .filter((x) => t[x] !== undefined)
        .map((x): [string, string] => [`${id}.${x}`, t[x] as string]),
      ...Object.entries(t.card ?? {}).map(([x, v]): [string, string] => [`${id}.card.${x}`, v]),
      ...Object.entries(t.reasons ?? {}).map(([x, v]): [string, string] => [`${id}.reasons.${x}`, v]),
    ];
  });
}

function writeSite(json: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-text-'));
  const file = path.join(dir, 'site.json');
  fs.writeFileSync(file, JSON.stringify(json));
  return file;
}

describe('wording as templates in the knowledge data', () => {
  it('fills every template of every rule on the paths the rules take, leaving no placeholder unfilled', () => {
    const used = new Set<string>();
    const texts: string[] = [];
    for (const p of PATHS) {
      const w = watched(p.knowledge ?? k);
      // Rendering throws on a placeholder the rule did not supply, so a bad template fails the evaluation here.
      const e = evaluate(p, w.knowledge);
      for (const u of w.used) used.add(u);
      texts.push(
        ...e.outcomes.flatMap((o) => [...o.reasons.map((r) => r.text), ...(o.context ?? [])]),
        ...e.findings.flatMap((f) => [...f.statements, f.carryOver ?? '', renderDetail(f)]),
      );
    }
    // A template no path reaches must at least need nothing: then it cannot be left unfilled either.
    const unreached = templates(k).filter(([key]) => !used.has(key));
    expect(unreached.filter(([, t]) => placeholders(t).length).map(([key]) => key)).toEqual([]);
    // Defensive branches no record reaches (a pair on file always yields its measures; the missing-lab card checks
    // that the CCR rule is on before it asks whether a pair could be read); they need no value.
    // So are a use recognised with no code-set match to name, and a bounded result without a date (it cannot be near a draw).
    expect(unreached.map(([key]) => key).sort()).toEqual([
      'endocrine-therapy-bone.card.gnrh-analogue',
      'homa-context.reasons.not-computable',
      'low-ccr.card.creatinineFell',
      'low-ccr.reasons.not-computable',
      'missing-ccr-input.card.creatinineFell',
      'missing-ccr-input.reasons.ccr-rule-disabled',
      'text.card.domain-pregnancy-tests',
      'text.card.domain-thyroid-labs',
      'text.card.recognised',
      'text.card.undated',
      'text.reasons.patient-deceased',
      'text.reasons.patient-replaced',
    ]);
    expect(texts.filter((t) => /\{[A-Za-z][\w:]*\}/.test(t))).toEqual([]);
  });

  it('keeps reason codes neutral: no number in any code, the numbers travel as parameters', () => {
    const codes = new Set(
      templates(k)
        .filter(([key]) => key.includes('.reasons.'))
        .map(([key]) => key.split('.reasons.')[1] as string),
    );
    for (const p of PATHS)
      for (const o of evaluate(p, p.knowledge ?? k).outcomes) for (const r of o.reasons) codes.add(r.code);
    expect([...codes].filter((c) => /\d/.test(c))).toEqual([]);
    const lowKidney = [
      lab('cr', 'p', 'creatinineMass', 0.6, daysAgo(NOW, 5)),
      lab('cys', 'p', 'cystatinC', 1.8, daysAgo(NOW, 5)),
    ];
    const egfr = run(woman(80), lowKidney).outcomes.find((o) => o.ruleId === 'low-ccr')!.reasons[0]!;
    expect(egfr).toMatchObject({ code: 'egfr-below-minimum', params: { minimum: 60 } });
  });

  it('changes the words on the card when a site file changes the threshold and rewords the why line', () => {
    const site = loadKnowledgeSync(
      writeSite({
        rules: {
          'low-ccr': {
            threshold: { below: { female: 0.65 } },
            text: { why: 'Below our laboratory’s 25th percentile for women aged 50 or more' },
          },
        },
      }),
    );
    const e = run(woman(80), lowPair(), { knowledge: site });
    const f = e.findings.find((x) => x.ruleId === 'low-ccr')!;
    const detail = renderDetail(f);
    expect(detail).toContain('below the threshold 0.65 for women');
    expect(detail).toContain('Below our laboratory’s 25th percentile for women aged 50 or more (He 2024).');
    expect(f.carryOver).toContain('threshold 0.65');
    expect(run(woman(80), lowPair()).findings.map(renderDetail).join(' ')).toContain(
      'below the threshold 0.70 for women',
    );
  });

  it('lets a site reword a quiet reason with the placeholders the rule fills', () => {
    const site = loadKnowledgeSync(
      writeSite({
        rules: { 'low-ccr': { text: { reasons: { 'age-below-minimum': 'under {minimum} (patient is {age})' } } } },
      }),
    );
    const r = run(woman(40), lowPair(), { knowledge: site }).outcomes.find((o) => o.ruleId === 'low-ccr')!.reasons[0]!;
    expect(r).toMatchObject({ code: 'age-below-minimum', params: { minimum: 50 } });
    expect(r.text).toBe(`under 50 (patient is ${r.params?.age})`);
  });

  it('refuses to start on a site template with a placeholder the rule does not fill, a malformed one, or an unknown sentence', () => {
    expect(() =>
      loadKnowledgeSync(writeSite({ rules: { 'low-ccr': { text: { card: { lead: 'CCR {ccr} below {cutoff}' } } } } })),
    ).toThrow(/\{cutoff\} is not filled by the rule/);
    expect(() => loadKnowledgeSync(writeSite({ rules: { 'low-ccr': { text: { why: 'Low {ratio' } } } }))).toThrow(
      /malformed placeholder/,
    );
    expect(() =>
      loadKnowledgeSync(writeSite({ rules: { 'low-ccr': { text: { reasons: { 'ccr-too-low': 'x' } } } } })),
    ).toThrow(/no such sentence/);
  });

  it('renders the shipped why lines as they read on the cards today', () => {
    expect(render(k.rules['glucocorticoid-bone'].text.why as string)).toBe(
      'Long-term glucocorticoids cause early bone loss and vertebral fractures',
    );
  });
});
