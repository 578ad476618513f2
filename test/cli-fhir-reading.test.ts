import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {
  Bundle,
  Condition,
  DiagnosticReport,
  MedicationAdministration,
  Observation,
  Patient,
  Resource,
} from 'fhir/r4';
import { describe, expect, it } from 'vitest';

const NOW = '2026-12-01T00:00:00Z';
const bin = path.resolve(__dirname, '../bin/crosstalk.js');
const CHILD_PROCESS_MS = 30_000;

type Result = {
  patient: string;
  cards: { extension: { crosstalk: { ruleId: string } } }[];
  quiet: { ruleId: string; status: string; reasons: { code: string; text: string }[] }[];
};

function evaluateNdjson(bundle: Bundle): Result[] {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-cli-')), 'bundle.json');
  fs.writeFileSync(f, JSON.stringify(bundle));
  const out = execFileSync(process.execPath, [bin, 'evaluate', f, '--now', NOW, '--format', 'ndjson'], {
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Result);
}

/* A Patient and a Condition as Synthea's Bulk Data export writes them (US Core profiles, urn:uuid-free ids). */
function syntheaPatient(id: string, extra: Partial<Patient>): Patient {
  return {
    resourceType: 'Patient',
    id,
    meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] },
    extension: [
      { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', valueCode: 'F' },
      {
        url: 'http://synthetichealth.github.io/synthea/disability-adjusted-life-years',
        valueDecimal: 15.204322771446313,
      },
    ],
    identifier: [{ system: 'https://github.com/synthetichealth/synthea', value: id }],
    name: [{ use: 'official', family: 'Upton904', given: ['Marine542'], prefix: ['Mrs.'] }],
    gender: 'female',
    birthDate: '1927-05-21',
    multipleBirthBoolean: false,
    ...extra,
  };
}

function syntheaRa(id: string, patientId: string): Condition {
  return {
    resourceType: 'Condition',
    id,
    meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-encounter-diagnosis'] },
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    verificationStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }],
    },
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/condition-category',
            code: 'encounter-diagnosis',
            display: 'Encounter Diagnosis',
          },
        ],
      },
    ],
    code: {
      coding: [{ system: 'http://snomed.info/sct', code: '69896004', display: 'Rheumatoid arthritis (disorder)' }],
      text: 'Rheumatoid arthritis (disorder)',
    },
    subject: { reference: `Patient/${patientId}` },
    encounter: { reference: 'Encounter/3d14ec07-d167-8e78-82b0-408f046caa54' },
    onsetDateTime: '1971-03-13T23:40:54-05:00',
    recordedDate: '1971-03-13T23:40:54-05:00',
  };
}

describe('crosstalk evaluate on a Synthea-shaped Bundle', () => {
  it(
    'gives no card to a woman whose record shows she died in 1994, and says so in quiet; her living twin gets hers',
    () => {
      const dead = '79a66c97-6131-3213-f3c9-4606946ab056';
      const alive = 'a5cb8ce9-cec6-6b23-0990-cbaf753578a4';
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          { resource: syntheaPatient(dead, { deceasedDateTime: '1994-11-11T22:58:16-05:00' }) },
          { resource: syntheaRa('ra-dead', dead) },
          { resource: syntheaPatient(alive, {}) },
          { resource: syntheaRa('ra-alive', alive) },
        ],
      };
      const out = evaluateNdjson(bundle);
      const of = (id: string) => out.find((r) => r.patient === `Patient/${id}`) as Result;
      expect(of(alive).cards.map((c) => c.extension.crosstalk.ruleId)).toContain('secondary-osteoporosis');
      expect(of(dead).cards).toEqual([]);
      const reasons = of(dead).quiet.flatMap((q) => q.reasons);
      expect(of(dead).quiet.length).toBeGreaterThan(0);
      expect(new Set(reasons.map((r) => r.code))).toEqual(new Set(['patient-deceased-on']));
      expect(reasons[0]?.text).toMatch(/died on 1994-11-11/);
    },
    CHILD_PROCESS_MS,
  );
});

/* Observations as a lab system sends them: identifiers, issued times, bounds, reports, vital signs. */
const LOINC = 'http://loinc.org';
const DRAW = '2026-11-02T08:10:00Z';
function obs(id: string, pid: string, code: string, value: number, unit: string, extra: Partial<Observation> = {}) {
  const o: Observation = {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: LOINC, code }] },
    subject: { reference: `Patient/${pid}` },
    effectiveDateTime: DRAW,
    issued: '2026-11-02T10:00:00Z',
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
    ...extra,
  };
  return o;
}
/** A contained result as reports carry it: the report's subject is its subject. */
function withoutSubject(o: Observation): Observation {
  const { subject: _s, ...rest } = o;
  return rest;
}
const woman = (id: string): Patient => ({ resourceType: 'Patient', id, gender: 'female', birthDate: '1960-02-14' });
/** Creatinine 0.6 mg/dL and cystatin C 1.0 mg/L: CCR 0.60, below the threshold for women; CRP 2 mg/L. */
const lowRatio = (pid: string, bmi = true): Resource[] => [
  obs(`${pid}-cr`, pid, '2160-0', 0.6, 'mg/dL', { identifier: [{ system: 'urn:lab', value: `${pid}-A1` }] }),
  obs(`${pid}-cys`, pid, '33863-2', 1.0, 'mg/L'),
  obs(`${pid}-crp`, pid, '1988-5', 2, 'mg/L'),
  ...(bmi ? [obs(`${pid}-bmi`, pid, '39156-5', 24, 'kg/m2')] : []),
];
const flag = (code: string) => ({
  interpretation: [
    { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code }] },
  ],
});

describe('crosstalk evaluate reads Observations as FHIR R4 defines them', () => {
  it(
    'uses only the correction of a result, reads a TSH bound, a withdrawn report and a BMI from weight and height',
    () => {
      const rows: [string, Resource[]][] = [
        ['control', lowRatio('control')],
        [
          'corrected',
          [
            ...lowRatio('corrected'),
            // The lab corrected the creatinine to 1.0 mg/dL (CCR 1.00): the first value must not make a card.
            obs('corrected-cr2', 'corrected', '2160-0', 1.0, 'mg/dL', {
              status: 'corrected',
              identifier: [{ system: 'urn:lab', value: 'corrected-A1' }],
              issued: '2026-11-03T09:00:00Z',
            }),
          ],
        ],
        [
          'thyroid',
          [
            ...lowRatio('thyroid'),
            obs('thyroid-tsh', 'thyroid', '3016-3', 0.01, 'm[IU]/L', {
              valueQuantity: {
                comparator: '<',
                value: 0.01,
                unit: 'mIU/L',
                system: 'http://unitsofmeasure.org',
                code: 'm[IU]/L',
              },
              ...flag('L'),
            }),
            obs('thyroid-ft4', 'thyroid', '3024-7', 3.8, 'ng/dL', flag('H')),
          ],
        ],
        ...(['reported', 'withdrawn'] as const).map((id): [string, Resource[]] => [
          id,
          [
            // The cystatin C only inside a report: read when the report stands, gone with it when entered in error.
            ...lowRatio(id).filter((r) => r.id !== `${id}-cys`),
            {
              resourceType: 'DiagnosticReport',
              id: `${id}-rep`,
              status: id === 'reported' ? 'final' : 'entered-in-error',
              code: { text: 'Cystatin C' },
              subject: { reference: `Patient/${id}` },
              effectiveDateTime: DRAW,
              contained: [withoutSubject(obs('c1', id, '33863-2', 1.0, 'mg/L'))],
              result: [{ reference: '#c1' }],
            } as DiagnosticReport,
          ],
        ]),
        [
          'heavy',
          [
            ...lowRatio('heavy', false),
            // 118 kg and 162 cm, no BMI result: BMI 45, at or above 40, where creatinine does not follow muscle.
            obs('heavy-w', 'heavy', '29463-7', 118, 'kg', { effectiveDateTime: '2026-10-20T09:00:00Z' }),
            obs('heavy-h', 'heavy', '8302-2', 162, 'cm', { effectiveDateTime: '2025-06-01T09:00:00Z' }),
          ],
        ],
      ];
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: rows.flatMap(([id, rs]) => [{ resource: woman(id) }, ...rs.map((resource) => ({ resource }))]),
      };
      const out = evaluateNdjson(bundle);
      const of = (id: string) => out.find((r) => r.patient === `Patient/${id}`) as Result;
      const cardsOf = (id: string) => of(id).cards.map((c) => c.extension.crosstalk.ruleId);
      const lowCcr = (id: string) => of(id).quiet.find((q) => q.ruleId === 'low-ccr');
      expect(cardsOf('control')).toContain('low-ccr');
      expect(cardsOf('corrected')).not.toContain('low-ccr');
      expect(cardsOf('thyroid')).not.toContain('low-ccr');
      expect(lowCcr('thyroid')?.reasons.map((r) => r.code)).toContain('hyperthyroidism');
      expect(cardsOf('reported')).toContain('low-ccr');
      expect(cardsOf('withdrawn')).not.toContain('low-ccr');
      expect(cardsOf('heavy')).not.toContain('low-ccr');
      const bmi = lowCcr('heavy')?.reasons.find((r) => r.code === 'bmi-extreme');
      expect(bmi?.text).toMatch(/45\.0 kg\/m2.*Observation\/heavy-w, Observation\/heavy-h; derived/);
    },
    CHILD_PROCESS_MS,
  );
});

/* Medications as EHRs send them, through the CLI on a Bundle (issue 20). */
type Card = {
  summary: string;
  detail: string;
  source: { topic?: { display?: string } };
  extension: { crosstalk: { ruleId: string } };
};
const DAY = 86_400_000;
const at = (days: number) => new Date(Date.parse(NOW) + days * DAY).toISOString();
const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const route = (code: string, display: string) => ({ coding: [{ system: 'http://snomed.info/sct', code, display }] });
function order(
  id: string,
  patientId: string,
  rx: [string, string],
  mgPerDay: number,
  from: number,
  to: number,
  r = route('26643006', 'Oral route'),
) {
  return {
    resourceType: 'MedicationRequest' as const,
    id,
    status: 'active' as const,
    intent: 'order' as const,
    subject: { reference: `Patient/${patientId}` },
    medicationCodeableConcept: { coding: [{ system: RX, code: rx[0], display: rx[1] }], text: rx[1] },
    authoredOn: at(-from),
    dosageInstruction: [
      {
        route: r,
        timing: {
          repeat: {
            frequency: 1,
            period: 1,
            periodUnit: 'd' as const,
            boundsPeriod: { start: at(-from), end: at(to) },
          },
        },
        doseAndRate: [
          { doseQuantity: { value: mgPerDay, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' } },
        ],
      },
    ],
  };
}
function labPair(patientId: string, creatinine: number, cystatin: number) {
  const obs = (id: string, code: string, value: number, unit: string) => ({
    resourceType: 'Observation' as const,
    id: `${id}-${patientId}`,
    status: 'final' as const,
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: at(-10),
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
  });
  return [obs('cr', '2160-0', creatinine, 'mg/dL'), obs('cys', '33863-2', cystatin, 'mg/L')];
}

describe('crosstalk evaluate on medications (four resources, routes, equivalence, wording)', () => {
  it(
    'counts the days taken so far of a course running into the future, in whole days; keeps the low-CCR card beside eye drops; converts deflazacort; calls leuprolide in a woman ovarian suppression',
    () => {
      const person = (id: string, gender: 'female' | 'male', birthDate: string): Patient => ({
        resourceType: 'Patient',
        id,
        gender,
        birthDate,
      });
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          person('future', 'female', '1955-03-01'),
          order('pred-future', 'future', ['8640', 'prednisone'], 10, 100, 140),
          person('eye', 'female', '1950-03-01'),
          order('pred-eye', 'eye', ['8638', 'prednisolone'], 4, 200, 30, route('54485002', 'Ophthalmic route')),
          ...labPair('eye', 0.6, 1.0),
          person('dfz', 'male', '1960-03-01'),
          order('dfz-long', 'dfz', ['22396', 'deflazacort'], 30, 200, 30),
          person('gnrh', 'female', '1981-03-01'),
          {
            ...order('leup', 'gnrh', ['42375', 'leuprolide'], 3.75, 60, 200, route('78421000', 'Intramuscular route')),
            medicationCodeableConcept: {
              coding: [{ system: 'http://www.whocc.no/atc', code: 'L02AE02', display: 'leuprorelin' }],
              text: 'leuprolide 3.75 mg depot',
            },
          },
        ].map((resource) => ({ resource: resource as Resource })),
      };
      const out = evaluateNdjson(bundle);
      const cardsOf = (id: string) =>
        (out.find((r) => r.patient === `Patient/${id}`)?.cards ?? []) as unknown as Card[];
      const rules = (id: string) => cardsOf(id).map((c) => c.extension.crosstalk.ruleId);

      const gc = cardsOf('future').find((c) => c.extension.crosstalk.ruleId === 'glucocorticoid-bone');
      expect(gc?.detail).toMatch(/\b100 days\b/);
      expect(gc?.detail).not.toMatch(/\d+\.\d+ days/);

      expect(rules('eye')).toContain('low-ccr');
      expect(rules('eye')).not.toContain('glucocorticoid-bone');

      expect(rules('dfz')).toContain('glucocorticoid-bone');

      const gnrh = cardsOf('gnrh').find((c) => c.extension.crosstalk.ruleId === 'endocrine-therapy-bone');
      expect(gnrh).toBeDefined();
      const surfaces = [gnrh?.summary, gnrh?.detail, gnrh?.source.topic?.display].join('\n');
      expect(surfaces).toMatch(/ovarian suppression/i);
      expect(surfaces).not.toMatch(/androgen|\bADT\b/i);
    },
    CHILD_PROCESS_MS,
  );
});

describe('crosstalk evaluate on one timeline per medicine', () => {
  it(
    'gives the androgen-deprivation card for goserelin depots known only from MedicationAdministrations, and the glucocorticoid card 50 days into a 120-day prednisone prescription',
    () => {
      const goserelin = (id: string, day: number): MedicationAdministration => ({
        resourceType: 'MedicationAdministration',
        id,
        status: 'completed',
        subject: { reference: 'Patient/adt' },
        medicationCodeableConcept: {
          coding: [{ system: 'http://www.whocc.no/atc', code: 'L02AE03', display: 'goserelin' }],
          text: 'goserelin 10.8 mg implant',
        },
        effectiveDateTime: at(-day),
        dosage: { route: route('34206005', 'Subcutaneous route') },
      });
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          { resourceType: 'Patient', id: 'adt', gender: 'male', birthDate: '1951-08-30' },
          goserelin('g1', 249),
          goserelin('g2', 165),
          goserelin('g3', 81),
          { resourceType: 'Patient', id: 'plan', gender: 'female', birthDate: '1958-01-09' },
          order('pred-plan', 'plan', ['312617', 'predniSONE 5 MG Oral Tablet'], 10, 50, 70),
        ].map((resource) => ({ resource: resource as Resource })),
      };
      const out = evaluateNdjson(bundle);
      const cardsOf = (id: string) =>
        (out.find((r) => r.patient === `Patient/${id}`)?.cards ?? []) as unknown as Card[];
      const adt = cardsOf('adt').find((c) => c.extension.crosstalk.ruleId === 'endocrine-therapy-bone');
      expect(adt?.detail).toMatch(/androgen.deprivation/i);
      const gc = cardsOf('plan').find((c) => c.extension.crosstalk.ruleId === 'glucocorticoid-bone');
      expect(gc?.detail).toMatch(/\b50 days at ≥/);
      expect(gc?.detail).toMatch(/a course of 120 days/);
    },
    CHILD_PROCESS_MS,
  );
});
