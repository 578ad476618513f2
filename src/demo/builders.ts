import type { Bundle, BundleEntry, Observation, Patient, Resource } from 'fhir/r4';

/*
 * Small builders for synthetic FHIR R4 data: the demo patients and the tests use the same ones,
 * so a test reads as the clinical situation it describes.
 */

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

export const LAB = {
  creatinineMass: { code: '2160-0', display: 'Creatinine [Mass/volume] in Serum or Plasma', unit: 'mg/dL' },
  creatinineMolar: { code: '14682-9', display: 'Creatinine [Moles/volume] in Serum or Plasma', unit: 'umol/L' },
  cystatinC: { code: '33863-2', display: 'Cystatin C [Mass/volume] in Serum or Plasma', unit: 'mg/L' },
  insulinFasting: { code: '27873-9', display: 'Insulin [Units/volume] in Serum or Plasma --fasting', unit: 'u[IU]/mL' },
  insulinMolarFasting: { code: '59179-2', display: 'Insulin [Moles/volume] in Serum or Plasma --fasting', unit: 'pmol/L' },
  insulin: { code: '20448-7', display: 'Insulin [Units/volume] in Serum or Plasma', unit: 'u[IU]/mL' },
  glucoseFasting: { code: '1558-6', display: 'Fasting glucose [Mass/volume] in Serum or Plasma', unit: 'mg/dL' },
  glucoseFastingMolar: { code: '14771-0', display: 'Fasting glucose [Moles/volume] in Serum or Plasma', unit: 'mmol/L' },
  glucoseRandom: { code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma', unit: 'mg/dL' },
} as const;

export type LabKind = keyof typeof LAB;

export function patient(id: string, gender: Patient['gender'], birthDate: string | undefined, name = id): Patient {
  return {
    resourceType: 'Patient',
    id,
    ...(gender ? { gender } : {}),
    ...(birthDate ? { birthDate } : {}),
    name: [{ use: 'official', family: name, given: ['Demo'] }],
  };
}

export interface LabOptions {
  status?: Observation['status'];
  unit?: string;
  comparator?: '<' | '>' | '<=' | '>=';
}

export function lab(id: string, patientId: string, kind: LabKind, value: number, effective: string, opts: LabOptions = {}): Observation {
  const def = LAB[kind];
  const unit = opts.unit ?? def.unit;
  return {
    resourceType: 'Observation',
    id,
    status: opts.status ?? 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [{ system: LOINC, code: def.code, display: def.display }], text: def.display },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: effective,
    issued: effective,
    valueQuantity: { value, unit, system: UCUM, code: unit, ...(opts.comparator ? { comparator: opts.comparator } : {}) },
  };
}

/** A date-time `days` before `now`, at a fixed morning hour so same-draw pairs stay minutes apart. */
export function daysAgo(now: Date, days: number, minutes = 0): string {
  const d = new Date(now.getTime() - days * 86_400_000);
  d.setUTCHours(8, minutes, 0, 0);
  return d.toISOString();
}

/** A transaction Bundle that PUTs each resource at its own id, so ids stay stable across seeding. */
export function transaction(resources: Resource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map(
      (r): BundleEntry => ({ fullUrl: `${r.resourceType}/${r.id}`, resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } }),
    ),
  };
}

export function searchset(resources: Resource[]): Bundle {
  return { resourceType: 'Bundle', type: 'searchset', total: resources.length, entry: resources.map((resource) => ({ resource })) };
}
