import type { Bundle, Patient, Practitioner, Resource } from 'fhir/r4';
import {
  concept,
  condition,
  dailyDosage,
  daysAgo,
  dxaReport,
  lab,
  medicationRequest,
  medicationStatement,
  patient,
  productMedication,
  ROUTE,
  tabletMedication,
  transaction,
} from './builders';

/** One synthetic demo patient and what Crosstalk should say about them (rule id → a reason code it must give). */
export interface DemoPatient {
  id: string;
  story: string;
  expect: { cards: string[]; suppressed?: Record<string, string>; notMet?: Record<string, string> };
  resources: (now: Date) => [Patient, ...Resource[]];
}

/** Birth date for someone `years` old on `now` (birthday well away from today, so the age is stable). */
function born(now: Date, years: number): string {
  const d = new Date(now.getTime());
  d.setUTCFullYear(d.getUTCFullYear() - years);
  d.setUTCMonth(d.getUTCMonth() - 3);
  return d.toISOString().slice(0, 10);
}

export const DEMO_PATIENTS: DemoPatient[] = [
  {
    id: 'demo-low-ccr',
    story:
      'Woman, 80: same-draw creatinine 0.6 mg/dL and cystatin C 1.0 mg/L (CCR 0.60), fasting insulin and glucose give HOMA context.',
    expect: { cards: ['low-ccr'] },
    resources: (now) => {
      const id = 'demo-low-ccr';
      return [
        patient(id, 'female', born(now, 80), 'Lowratio'),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 30)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 30, 10)),
        lab(`${id}-ins`, id, 'insulinMolarFasting', 90, daysAgo(now, 30, 5)),
        lab(`${id}-glu`, id, 'glucoseFasting', 100, daysAgo(now, 30, 5)),
        lab(`${id}-cr-old`, id, 'creatinineMass', 0.7, daysAgo(now, 200)),
        lab(`${id}-cys-old`, id, 'cystatinC', 0.95, daysAgo(now, 200)),
      ];
    },
  },
  {
    id: 'demo-normal',
    story: 'Man, 65: creatinine 97 µmol/L with cystatin C 1.0 mg/L (CCR 1.10): no card; shows the µmol/L conversion.',
    expect: { cards: [] },
    resources: (now) => {
      const id = 'demo-normal';
      return [
        patient(id, 'male', born(now, 65), 'Steady'),
        lab(`${id}-cr`, id, 'creatinineMolar', 97, daysAgo(now, 14)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 14, 15)),
      ];
    },
  },
  {
    id: 'demo-missing-cystatin',
    story: 'Woman, 72: creatinine on file, no cystatin C in 12 months: a card suggests ordering cystatin C.',
    expect: { cards: ['missing-ccr-input'] },
    resources: (now) => {
      const id = 'demo-missing-cystatin';
      return [
        patient(id, 'female', born(now, 72), 'Halfpair'),
        lab(`${id}-cr`, id, 'creatinineMass', 0.8, daysAgo(now, 45)),
      ];
    },
  },
  {
    id: 'demo-ckd',
    story: 'Woman, 80: CCR 0.33 but eGFRcr-cys below 60: the low-CCR card is suppressed.',
    expect: { cards: [], suppressed: { 'low-ccr': 'egfr-below-minimum' } },
    resources: (now) => {
      const id = 'demo-ckd';
      return [
        patient(id, 'female', born(now, 80), 'Kidney'),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 20)),
        lab(`${id}-cys`, id, 'cystatinC', 1.8, daysAgo(now, 20, 5)),
      ];
    },
  },
  {
    id: 'demo-aki',
    story: 'Man, 70: low CCR, but creatinine rose 0.6 → 1.0 mg/dL within 48 h (AKI pattern): suppressed.',
    expect: { cards: [], suppressed: { 'low-ccr': 'aki-pattern' } },
    resources: (now) => {
      const id = 'demo-aki';
      return [
        patient(id, 'male', born(now, 70), 'Rising'),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 10)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 10, 20)),
        lab(`${id}-cr-later`, id, 'creatinineMass', 1.0, daysAgo(now, 8)),
      ];
    },
  },
  {
    id: 'demo-teen',
    story: 'Girl, 16: low CCR, but the adult equations and evidence do not apply: suppressed (age under 18).',
    expect: { cards: [], suppressed: { 'low-ccr': 'age-below-adult' } },
    resources: (now) => {
      const id = 'demo-teen';
      return [
        patient(id, 'female', born(now, 16), 'Teen'),
        lab(`${id}-cr`, id, 'creatinineMass', 0.4, daysAgo(now, 12)),
        lab(`${id}-cys`, id, 'cystatinC', 0.9, daysAgo(now, 12, 5)),
      ];
    },
  },
  {
    id: 'demo-apart',
    story:
      'Man, 68: creatinine and cystatin C drawn 5 days apart: CCR suppressed (not same draw); a card asks for both on one draw.',
    expect: { cards: ['missing-ccr-input'], suppressed: { 'low-ccr': 'not-same-draw' } },
    resources: (now) => {
      const id = 'demo-apart';
      return [
        patient(id, 'male', born(now, 68), 'Apart'),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 25)),
        lab(`${id}-cys`, id, 'cystatinC', 1.1, daysAgo(now, 30)),
      ];
    },
  },
  {
    id: 'demo-homa-only',
    story: 'Man, 58: normal CCR and insulin resistance (HOMA-IR 5.4): HOMA never makes a card alone.',
    expect: { cards: [] },
    resources: (now) => {
      const id = 'demo-homa-only';
      return [
        patient(id, 'male', born(now, 58), 'Resistant'),
        lab(`${id}-cr`, id, 'creatinineMass', 1.0, daysAgo(now, 40)),
        lab(`${id}-cys`, id, 'cystatinC', 0.9, daysAgo(now, 40, 10)),
        lab(`${id}-ins`, id, 'insulinFasting', 20, daysAgo(now, 40, 5)),
        lab(`${id}-glu`, id, 'glucoseFasting', 110, daysAgo(now, 40, 5)),
      ];
    },
  },
  {
    id: 'demo-homa-diabetic',
    story:
      'Woman, 66: low CCR card; fasting glucose 8.0 mmol/L puts HOMA outside its range, so the card carries no HOMA line.',
    expect: { cards: ['low-ccr'], suppressed: { 'homa-context': 'glucose-diabetic-range' } },
    resources: (now) => {
      const id = 'demo-homa-diabetic';
      return [
        patient(id, 'female', born(now, 66), 'Sweet'),
        lab(`${id}-cr`, id, 'creatinineMass', 0.55, daysAgo(now, 60)),
        lab(`${id}-cys`, id, 'cystatinC', 0.95, daysAgo(now, 60, 10)),
        lab(`${id}-ins`, id, 'insulinFasting', 9, daysAgo(now, 60, 5)),
        lab(`${id}-glu`, id, 'glucoseFastingMolar', 8.0, daysAgo(now, 60, 5)),
      ];
    },
  },
  {
    id: 'demo-no-labs',
    story: 'Man, 75, with no labs at all: no cards.',
    expect: { cards: [] },
    resources: (now) => [patient('demo-no-labs', 'male', born(now, 75), 'Nolabs')],
  },
  {
    id: 'demo-preliminary',
    story: 'Woman, 70: a preliminary creatinine and an implausible cystatin C are rejected; nothing to say.',
    expect: { cards: [] },
    resources: (now) => {
      const id = 'demo-preliminary';
      return [
        patient(id, 'female', born(now, 70), 'Draft'),
        lab(`${id}-cr`, id, 'creatinineMass', 0.5, daysAgo(now, 5), { status: 'preliminary' }),
        lab(`${id}-cys`, id, 'cystatinC', 12, daysAgo(now, 5, 5)),
      ];
    },
  },

  // ---- Secondary osteoporosis and the CCR's confounders (issue 6) ----
  {
    id: 'demo-steroid',
    story:
      'Woman, 67: prednisone 7.5 mg daily for 5 months (30-day supply × 6 fills), no DXA, vitamin D 14 ng/mL. The glucocorticoid card warns, with a DXA + VFA order; her low CCR is not shown because glucocorticoids raise cystatin C.',
    expect: { cards: ['glucocorticoid-bone'], suppressed: { 'low-ccr': 'glucocorticoid' } },
    resources: (now) => {
      const id = 'demo-steroid';
      return [
        patient(id, 'female', born(now, 67), 'Steroid'),
        medicationRequest(
          `${id}-pred`,
          id,
          {
            coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '8640', display: 'prednisone' }],
            text: 'Prednisone 7.5 mg oral tablet',
          },
          {
            authoredOn: daysAgo(now, 150),
            supplyDays: 30,
            repeats: 5,
            dosage: [dailyDosage(7.5, 'mg', 1)],
            requester: 'Practitioner/demo-clinician',
          },
        ),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 20)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 20, 10)),
        lab(`${id}-vitd`, id, 'vitaminD', 14, daysAgo(now, 20, 10)),
      ];
    },
  },
  {
    id: 'demo-steroid-young',
    story:
      "Man, 34, Crohn's disease: Medrol 4 mg tablets, 2 a day, for 3½ months, ordered as EHRs code products (medicationReference to Medication/demo-steroid-young-medrol, a resource of its own with the RxNorm SCD and SBD; dose in tablets, strength from the product table). The glucocorticoid card warns, in its under-40 form (FRAX not validated).",
    expect: { cards: ['glucocorticoid-bone'], notMet: { 'secondary-osteoporosis': 'age-below-minimum' } },
    resources: (now) => {
      const id = 'demo-steroid-young';
      // Its own resource on the FHIR server, not contained: the service reads it through _include, or by reference.
      const med = productMedication(`${id}-medrol`, 'Medrol 4 mg tablet', [
        { code: '259966', display: 'methylPREDNISolone 4 MG Oral Tablet' },
        { code: '260330', display: 'Medrol 4 MG Oral Tablet' },
      ]);
      return [
        patient(id, 'male', born(now, 34), 'Methylpred'),
        med,
        medicationRequest(`${id}-mp`, id, undefined, {
          referenced: med,
          authoredOn: daysAgo(now, 105),
          supplyDays: 90,
          repeats: 1,
          dosage: [dailyDosage(2, 'TAB', 1)],
        }),
        condition(
          `${id}-crohn`,
          id,
          concept('icd10cm', 'K50.90', "Crohn's disease, unspecified, without complications"),
        ),
      ];
    },
  },
  {
    id: 'demo-steroid-treated',
    story:
      'Woman, 72: prednisone 10 mg daily (coded by ATC only) for 7 months, already taking alendronate: the glucocorticoid card is suppressed (osteoporosis therapy, recognised through its verified RxNorm ingredient code).',
    expect: { cards: [], suppressed: { 'glucocorticoid-bone': 'osteoporosis-therapy' } },
    resources: (now) => {
      const id = 'demo-steroid-treated';
      return [
        patient(id, 'female', born(now, 72), 'Treated'),
        medicationRequest(`${id}-pred`, id, concept('atc', 'H02AB07', 'prednisone', 'Prednisone 10 mg tablet'), {
          authoredOn: daysAgo(now, 210),
          supplyDays: 100,
          repeats: 2,
          dosage: [dailyDosage(10, 'mg', 1)],
        }),
        medicationStatement(
          `${id}-aln`,
          id,
          concept('rxnorm', '46041', 'alendronate', 'Alendronic acid 70 mg weekly'),
          daysAgo(now, 180),
        ),
      ];
    },
  },
  {
    id: 'demo-steroid-dxa',
    story:
      'Man, 60: prednisolone 5 mg daily for over a year (MedicationStatement), DXA report 10 months ago: the glucocorticoid card does not apply (recent DXA).',
    expect: { cards: [], notMet: { 'glucocorticoid-bone': 'recent-dxa' } },
    resources: (now) => {
      const id = 'demo-steroid-dxa';
      return [
        patient(id, 'male', born(now, 60), 'Scanned'),
        medicationStatement(
          `${id}-pl`,
          id,
          concept('rxnorm', '8638', 'prednisolone', 'Prednisolone 5 mg tablet'),
          daysAgo(now, 400),
          { dosage: [dailyDosage(5, 'mg', 1)] },
        ),
        dxaReport(`${id}-dxa`, id, daysAgo(now, 300)),
      ];
    },
  },
  {
    id: 'demo-steroid-inhaled',
    story:
      'Woman, 70: an inhaled fluticasone and a topical hydrocortisone cream are not systemic, so the glucocorticoid card does not fire and they do not suppress her low-CCR card.',
    expect: { cards: ['low-ccr'], notMet: { 'glucocorticoid-bone': 'no-glucocorticoid' } },
    resources: (now) => {
      const id = 'demo-steroid-inhaled';
      return [
        patient(id, 'female', born(now, 70), 'Inhaler'),
        medicationRequest(`${id}-flut`, id, concept('atc', 'R03BA05', 'fluticasone', 'Fluticasone 250 mcg inhaler'), {
          authoredOn: daysAgo(now, 200),
          supplyDays: 30,
          repeats: 11,
          dosage: [dailyDosage(250, 'ug', 2, ROUTE.inhaled)],
        }),
        medicationRequest(`${id}-hc`, id, concept('rxnorm', '5492', 'hydrocortisone', 'Hydrocortisone 1% cream'), {
          authoredOn: daysAgo(now, 60),
          dosage: [dailyDosage(1, '{application}', 2, concept('sct', '6064005', 'Topical route', 'Topical'))],
        }),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 15)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 15, 10)),
      ];
    },
  },
  {
    id: 'demo-steroid-low-dose',
    story:
      'Woman, 75: prednisone 2 mg daily for a year: below 2.5 mg/day, so the glucocorticoid card does not apply, but a systemic glucocorticoid still suppresses her low CCR.',
    expect: {
      cards: [],
      suppressed: { 'low-ccr': 'glucocorticoid' },
      notMet: { 'glucocorticoid-bone': 'below-threshold' },
    },
    resources: (now) => {
      const id = 'demo-steroid-low-dose';
      return [
        patient(id, 'female', born(now, 75), 'Lowdose'),
        medicationStatement(
          `${id}-pred`,
          id,
          concept('rxnorm', '8640', 'prednisone', 'Prednisone 1 mg tablets'),
          daysAgo(now, 365),
          { dosage: [dailyDosage(2, 'mg', 1)] },
        ),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 30)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 30, 10)),
      ];
    },
  },
  {
    id: 'demo-aromatase',
    story:
      'Woman, 63: letrozole 1 tablet a day for 2 months (medicationReference to a contained Medication coded with the RxNorm ingredient, the verified RxNorm SCD and ATC), no DXA, creatinine without cystatin C: the endocrine-therapy card suggests a baseline DXA and cystatin C on one card.',
    expect: { cards: ['endocrine-therapy-bone'], suppressed: { 'missing-ccr-input': 'superseded' } },
    resources: (now) => {
      const id = 'demo-aromatase';
      const med = tabletMedication(
        'letrozole',
        {
          coding: [
            { system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '72965', display: 'letrozole' },
            {
              system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
              code: '200064',
              display: 'letrozole 2.5 MG Oral Tablet',
            },
            { system: 'http://www.whocc.no/atc', code: 'L02BG04', display: 'letrozole' },
          ],
          text: 'Letrozole 2.5 mg tablet',
        },
        concept('rxnorm', '72965', 'letrozole'),
        2.5,
      );
      return [
        patient(id, 'female', born(now, 63), 'Aromatase'),
        medicationRequest(`${id}-let`, id, undefined, {
          contained: med,
          authoredOn: daysAgo(now, 60),
          supplyDays: 90,
          repeats: 3,
          dosage: [dailyDosage(1, 'TAB', 1)],
        }),
        lab(`${id}-cr`, id, 'creatinineMass', 0.7, daysAgo(now, 20)),
      ];
    },
  },
  {
    id: 'demo-adt',
    story:
      'Man, 74: leuprolide depot every 3 months (ATC only) for 4 months, with a DXA 4 months before the start: the endocrine-therapy card does not apply (baseline DXA done).',
    expect: { cards: [], notMet: { 'endocrine-therapy-bone': 'baseline-dxa-done' } },
    resources: (now) => {
      const id = 'demo-adt';
      return [
        patient(id, 'male', born(now, 74), 'Depot'),
        medicationRequest(
          `${id}-leu`,
          id,
          concept('atc', 'L02AE02', 'leuprorelin', 'Leuprolide acetate 22.5 mg depot injection'),
          {
            authoredOn: daysAgo(now, 120),
            supplyDays: 90,
            repeats: 3,
            dosage: [
              {
                text: '22.5 mg IM every 3 months',
                timing: { repeat: { frequency: 1, period: 3, periodUnit: 'mo' } },
                route: ROUTE.intramuscular,
                doseAndRate: [
                  { doseQuantity: { value: 22.5, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' } },
                ],
              },
            ],
          },
        ),
        lab(`${id}-dxa-spine`, id, 'dxaSpineT', -1.4, daysAgo(now, 240)),
      ];
    },
  },
  {
    id: 'demo-ra',
    story:
      'Woman, 61: rheumatoid arthritis (SNOMED and ICD-10-CM), omeprazole, no DXA, vitamin D 45 nmol/L, and a low CCR. One secondary-osteoporosis card suggests FRAX/DXA and carries the muscle signal and the vitamin D line.',
    expect: { cards: ['secondary-osteoporosis'], suppressed: { 'low-ccr': 'superseded' } },
    resources: (now) => {
      const id = 'demo-ra';
      return [
        patient(id, 'female', born(now, 61), 'Rheuma'),
        condition(
          `${id}-ra`,
          id,
          {
            coding: [
              { system: 'http://snomed.info/sct', code: '69896004', display: 'Rheumatoid arthritis' },
              {
                system: 'http://hl7.org/fhir/sid/icd-10-cm',
                code: 'M05.79',
                display:
                  'Rheumatoid arthritis with rheumatoid factor of multiple sites without organ or systems involvement',
              },
            ],
            text: 'Rheumatoid arthritis',
          },
          { onset: daysAgo(now, 2000) },
        ),
        medicationRequest(`${id}-ome`, id, concept('atc', 'A02BC01', 'omeprazole', 'Omeprazole 20 mg capsule'), {
          authoredOn: daysAgo(now, 40),
          supplyDays: 90,
          dosage: [dailyDosage(20, 'mg', 1)],
        }),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 25)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 25, 10)),
        lab(`${id}-vitd`, id, 'vitaminDMolar', 45, daysAgo(now, 25, 10)),
      ];
    },
  },
  {
    id: 'demo-fracture-young',
    story:
      'Man, 45: type 1 diabetes and a healed osteoporotic fracture (Z87.310): the secondary-osteoporosis card applies under 50 because of the fracture.',
    expect: { cards: ['secondary-osteoporosis'] },
    resources: (now) => {
      const id = 'demo-fracture-young';
      return [
        patient(id, 'male', born(now, 45), 'Fracture'),
        condition(`${id}-t1d`, id, concept('icd10cm', 'E10.9', 'Type 1 diabetes mellitus without complications')),
        condition(`${id}-fx`, id, concept('icd10cm', 'Z87.310', 'Personal history of (healed) osteoporosis fracture'), {
          clinicalStatus: 'resolved',
          onset: daysAgo(now, 900),
        }),
      ];
    },
  },
  {
    id: 'demo-hyperthyroid',
    story:
      'Woman, 58: hyperthyroidism (E05.00) suppresses her low CCR (it raises cystatin C) and is itself a secondary cause: one secondary-osteoporosis card.',
    expect: { cards: ['secondary-osteoporosis'], suppressed: { 'low-ccr': 'hyperthyroidism' } },
    resources: (now) => {
      const id = 'demo-hyperthyroid';
      return [
        patient(id, 'female', born(now, 58), 'Thyro'),
        condition(
          `${id}-thyro`,
          id,
          concept('icd10cm', 'E05.00', 'Thyrotoxicosis with diffuse goiter without thyrotoxic crisis or storm'),
        ),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 20)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 20, 10)),
      ];
    },
  },
  {
    id: 'demo-crp',
    story: 'Man, 66: low CCR, but CRP 25 mg/L four days before the draw (inflammation raises cystatin C): suppressed.',
    expect: { cards: [], suppressed: { 'low-ccr': 'crp-high' } },
    resources: (now) => {
      const id = 'demo-crp';
      return [
        patient(id, 'male', born(now, 66), 'Inflamed'),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 10)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 10, 10)),
        lab(`${id}-crp`, id, 'crp', 25, daysAgo(now, 14)),
      ];
    },
  },
  {
    id: 'demo-pregnant',
    story: 'Woman, 50, pregnant (SNOMED 77386006): low CCR suppressed (pregnancy changes GFR and creatinine).',
    expect: { cards: [], suppressed: { 'low-ccr': 'pregnancy' } },
    resources: (now) => {
      const id = 'demo-pregnant';
      return [
        patient(id, 'female', born(now, 50), 'Expecting'),
        condition(`${id}-preg`, id, concept('sct', '77386006', 'Pregnancy')),
        lab(`${id}-cr`, id, 'creatinineMass', 0.5, daysAgo(now, 12)),
        lab(`${id}-cys`, id, 'cystatinC', 0.8, daysAgo(now, 12, 10)),
      ];
    },
  },
  {
    id: 'demo-amputee',
    story:
      'Man, 71, above-knee amputation (Z89.611): his muscle mass is not representative, so the low CCR is suppressed.',
    expect: { cards: [], suppressed: { 'low-ccr': 'amputation-or-paralysis' } },
    resources: (now) => {
      const id = 'demo-amputee';
      return [
        patient(id, 'male', born(now, 71), 'Limb'),
        condition(`${id}-amp`, id, concept('icd10cm', 'Z89.611', 'Acquired absence of right leg above knee')),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 18)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 18, 10)),
      ];
    },
  },
  {
    id: 'demo-transplant',
    story:
      'Man, 62, kidney transplant (Z94.0) with good graft function: the ratio cannot be read, so the low CCR is suppressed.',
    expect: { cards: [], suppressed: { 'low-ccr': 'dialysis-or-transplant' } },
    resources: (now) => {
      const id = 'demo-transplant';
      return [
        patient(id, 'male', born(now, 62), 'Graft'),
        condition(`${id}-tx`, id, concept('icd10cm', 'Z94.0', 'Kidney transplant status')),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 22)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 22, 10)),
      ];
    },
  },
  {
    id: 'demo-obese',
    story: 'Woman, 64, BMI 42: obesity raises cystatin C, so the low CCR is suppressed.',
    expect: { cards: [], suppressed: { 'low-ccr': 'bmi-extreme' } },
    resources: (now) => {
      const id = 'demo-obese';
      return [
        patient(id, 'female', born(now, 64), 'Heavy'),
        lab(`${id}-bmi`, id, 'bmi', 42, daysAgo(now, 60)),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 16)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 16, 10)),
      ];
    },
  },
  {
    id: 'demo-creatine',
    story:
      'Man, 55, takes a creatine supplement (recorded as free text only: a reported text match): the CCR is suppressed (creatine raises creatinine).',
    expect: { cards: [], suppressed: { 'low-ccr': 'creatine-or-trimethoprim' } },
    resources: (now) => {
      const id = 'demo-creatine';
      return [
        patient(id, 'male', born(now, 55), 'Gym'),
        medicationStatement(`${id}-creatine`, id, { text: 'Creatine monohydrate 5 g powder daily' }, daysAgo(now, 200)),
        lab(`${id}-cr`, id, 'creatinineMass', 0.6, daysAgo(now, 9)),
        lab(`${id}-cys`, id, 'cystatinC', 1.0, daysAgo(now, 9, 10)),
      ];
    },
  },
];

export function demoResources(now: Date): Resource[] {
  return DEMO_PATIENTS.flatMap((p) => p.resources(now));
}

/** The clinician the demo orders name as requester: a server that checks references (HAPI does) needs it. */
export const DEMO_CLINICIAN: Practitioner = {
  resourceType: 'Practitioner',
  id: 'demo-clinician',
  active: true,
  name: [{ family: 'Clinician', given: ['Demo'], prefix: ['Dr'] }],
};

/**
 * The demo patients and everything they reference as one transaction Bundle (PUT with fixed ids), ready for
 * any FHIR R4 server: self-contained, so referential integrity does not reject it, and idempotent.
 */
export function demoTransaction(now: Date): Bundle {
  return transaction([DEMO_CLINICIAN, ...demoResources(now)]);
}
