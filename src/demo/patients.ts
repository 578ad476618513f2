import type { Bundle, Observation, Patient, Resource } from 'fhir/r4';
import { daysAgo, lab, patient, transaction } from './builders';

/** One synthetic demo patient and what Crosstalk should say about them. */
export interface DemoPatient {
  id: string;
  story: string;
  expect: { cards: string[]; suppressed?: Record<string, string> };
  resources: (now: Date) => [Patient, ...Observation[]];
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
    story: 'Woman, 80: same-draw creatinine 0.6 mg/dL and cystatin C 1.0 mg/L (CCR 0.60), fasting insulin and glucose give HOMA context.',
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
      return [patient(id, 'female', born(now, 72), 'Halfpair'), lab(`${id}-cr`, id, 'creatinineMass', 0.8, daysAgo(now, 45))];
    },
  },
  {
    id: 'demo-ckd',
    story: 'Woman, 80: CCR 0.33 but eGFRcr-cys below 60: the low-CCR card is suppressed.',
    expect: { cards: [], suppressed: { 'low-ccr': 'egfr-below-60' } },
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
    expect: { cards: [], suppressed: { 'low-ccr': 'age-under-18' } },
    resources: (now) => {
      const id = 'demo-teen';
      return [
        patient(id, 'female', born(now, 16), 'Young'),
        lab(`${id}-cr`, id, 'creatinineMass', 0.4, daysAgo(now, 12)),
        lab(`${id}-cys`, id, 'cystatinC', 0.9, daysAgo(now, 12, 5)),
      ];
    },
  },
  {
    id: 'demo-apart',
    story: 'Man, 68: creatinine and cystatin C drawn 5 days apart: CCR suppressed (not same draw); a card asks for both on one draw.',
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
    story: 'Woman, 66: low CCR card; fasting glucose 8.0 mmol/L puts HOMA outside its range, so the card carries no HOMA line.',
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
];

export function demoResources(now: Date): Resource[] {
  return DEMO_PATIENTS.flatMap((p) => p.resources(now));
}

/** The demo patients as a transaction Bundle (PUT with fixed ids), ready for any FHIR R4 server. */
export function demoTransaction(now: Date): Bundle {
  return transaction(demoResources(now));
}
