import type {
  Bundle,
  BundleEntry,
  CodeableConcept,
  Condition,
  DiagnosticReport,
  Dosage,
  Medication,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Patient,
  Resource,
  ServiceRequest,
} from 'fhir/r4';

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
  insulinMolarFasting: {
    code: '59179-2',
    display: 'Insulin [Moles/volume] in Serum or Plasma --fasting',
    unit: 'pmol/L',
  },
  insulin: { code: '20448-7', display: 'Insulin [Units/volume] in Serum or Plasma', unit: 'u[IU]/mL' },
  glucoseFasting: { code: '1558-6', display: 'Fasting glucose [Mass/volume] in Serum or Plasma', unit: 'mg/dL' },
  glucoseFastingMolar: {
    code: '14771-0',
    display: 'Fasting glucose [Moles/volume] in Serum or Plasma',
    unit: 'mmol/L',
  },
  glucoseRandom: { code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma', unit: 'mg/dL' },
  crp: { code: '1988-5', display: 'C reactive protein [Mass/volume] in Serum or Plasma', unit: 'mg/L' },
  bmi: { code: '39156-5', display: 'Body mass index (BMI) [Ratio]', unit: 'kg/m2' },
  vitaminD: {
    code: '62292-8',
    display: '25-Hydroxyvitamin D3+25-Hydroxyvitamin D2 [Mass/volume] in Serum or Plasma',
    unit: 'ng/mL',
  },
  vitaminDMolar: { code: '14635-7', display: '25-Hydroxyvitamin D3 [Moles/volume] in Serum or Plasma', unit: 'nmol/L' },
  tsh: { code: '3016-3', display: 'Thyrotropin [Units/volume] in Serum or Plasma', unit: 'm[IU]/L' },
  freeT4: { code: '3024-7', display: 'Thyroxine (T4) free [Mass/volume] in Serum or Plasma', unit: 'ng/dL' },
  weight: { code: '29463-7', display: 'Body weight', unit: 'kg' },
  height: { code: '8302-2', display: 'Body height', unit: 'cm' },
  dxaSpineT: { code: '38267-1', display: 'DXA Lumbar spine [T-score] Bone density', unit: '{T-score}' },
  dxaHipT: { code: '38264-8', display: 'DXA Hip [T-score] Bone density', unit: '{T-score}' },
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

export function lab(
  id: string,
  patientId: string,
  kind: LabKind,
  value: number,
  effective: string,
  opts: LabOptions = {},
): Observation {
  const def = LAB[kind];
  const unit = opts.unit ?? def.unit;
  return {
    resourceType: 'Observation',
    id,
    status: opts.status ?? 'final',
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] },
    ],
    code: { coding: [{ system: LOINC, code: def.code, display: def.display }], text: def.display },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: effective,
    issued: effective,
    valueQuantity: {
      value,
      unit,
      system: UCUM,
      code: unit,
      ...(opts.comparator ? { comparator: opts.comparator } : {}),
    },
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
      (r): BundleEntry => ({
        fullUrl: `${r.resourceType}/${r.id}`,
        resource: r,
        request: { method: 'PUT', url: `${r.resourceType}/${r.id}` },
      }),
    ),
  };
}

export function searchset(resources: Resource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    entry: resources.map((resource) => ({ resource })),
  };
}

/* Medicines, conditions, bone density: the shapes EHRs send (coded product or contained Medication, dosage with doseAndRate and timing). */

export const SYSTEMS = {
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  atc: 'http://www.whocc.no/atc',
  sct: 'http://snomed.info/sct',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  loinc: LOINC,
} as const;

export const ROUTE = {
  oral: { coding: [{ system: SYSTEMS.sct, code: '26643006', display: 'Oral route' }], text: 'Oral' },
  intramuscular: {
    coding: [{ system: SYSTEMS.sct, code: '78421000', display: 'Intramuscular route' }],
    text: 'Intramuscular',
  },
  subcutaneous: {
    coding: [{ system: SYSTEMS.sct, code: '34206005', display: 'Subcutaneous route' }],
    text: 'Subcutaneous',
  },
  inhaled: { text: 'Inhalation' },
} satisfies Record<string, CodeableConcept>;

export function concept(system: keyof typeof SYSTEMS, code: string, display: string, text = display): CodeableConcept {
  return { coding: [{ system: SYSTEMS[system], code, display }], text };
}

/** One regular dose: `amount` `unit` (mg, or TAB with the strength on the Medication), `perDay` times a day. */
export function dailyDosage(
  amount: number,
  unit: string,
  perDay: number,
  route: CodeableConcept = ROUTE.oral,
  text?: string,
): Dosage {
  return {
    text: text ?? `${amount} ${unit} ${perDay === 1 ? 'once' : `${perDay} times`} daily`,
    timing: { repeat: { frequency: perDay, period: 1, periodUnit: 'd' } },
    route,
    doseAndRate: [
      {
        type: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/dose-rate-type', code: 'ordered', display: 'Ordered' },
          ],
        },
        doseQuantity: { value: amount, unit, system: UCUM, code: unit },
      },
    ],
  };
}

export interface RequestOptions {
  status?: MedicationRequest['status'];
  authoredOn?: string;
  supplyDays?: number;
  repeats?: number;
  dosage?: Dosage[];
  /** A contained Medication instead of medicationCodeableConcept (the medicationReference shape). */
  contained?: Medication;
  /** A Medication kept as its own resource and pointed at (`Medication/<id>`), as most EHRs send product orders. */
  referenced?: Medication;
  requester?: string;
}

export function medicationRequest(
  id: string,
  patientId: string,
  product: CodeableConcept | undefined,
  opts: RequestOptions = {},
): MedicationRequest {
  return {
    resourceType: 'MedicationRequest',
    id,
    status: opts.status ?? 'active',
    intent: 'order',
    ...(opts.contained
      ? {
          contained: [opts.contained],
          medicationReference: {
            reference: `#${opts.contained.id}`,
            ...(opts.contained.code?.text ? { display: opts.contained.code.text } : {}),
          },
        }
      : opts.referenced
        ? {
            medicationReference: {
              reference: `Medication/${opts.referenced.id}`,
              ...(opts.referenced.code?.text ? { display: opts.referenced.code.text } : {}),
            },
          }
        : { medicationCodeableConcept: product as CodeableConcept }),
    subject: { reference: `Patient/${patientId}` },
    ...(opts.authoredOn ? { authoredOn: opts.authoredOn } : {}),
    ...(opts.requester ? { requester: { reference: opts.requester } } : {}),
    ...(opts.dosage ? { dosageInstruction: opts.dosage } : {}),
    ...(opts.supplyDays !== undefined
      ? {
          dispenseRequest: {
            expectedSupplyDuration: { value: opts.supplyDays, unit: 'days', system: UCUM, code: 'd' },
            ...(opts.repeats !== undefined ? { numberOfRepeatsAllowed: opts.repeats } : {}),
          },
        }
      : {}),
  };
}

/** A Medication with one ingredient and its strength per tablet: what EHRs contain in a MedicationRequest. */
export function tabletMedication(
  id: string,
  product: CodeableConcept,
  ingredient: CodeableConcept,
  mgPerTablet: number,
): Medication {
  return {
    resourceType: 'Medication',
    id,
    code: product,
    form: concept('sct', '385055001', 'Tablet', 'Oral tablet'),
    ingredient: [
      {
        itemCodeableConcept: ingredient,
        isActive: true,
        strength: {
          numerator: { value: mgPerTablet, unit: 'mg', system: UCUM, code: 'mg' },
          denominator: {
            value: 1,
            unit: 'TAB',
            system: 'http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm',
            code: 'TAB',
          },
        },
      },
    ],
  };
}

/**
 * A Medication as pharmacy systems code it: the RxNorm clinical drug (SCD) and branded drug (SBD) side by side,
 * no ingredient strength, so the dose in tablets needs the product table.
 */
export function productMedication(id: string, text: string, products: { code: string; display: string }[]): Medication {
  return {
    resourceType: 'Medication',
    id,
    code: { coding: products.map((p) => ({ system: SYSTEMS.rxnorm, code: p.code, display: p.display })), text },
    form: concept('sct', '385055001', 'Tablet', 'Oral tablet'),
  };
}

export function medicationStatement(
  id: string,
  patientId: string,
  product: CodeableConcept,
  start: string,
  opts: { status?: MedicationStatement['status']; end?: string; dosage?: Dosage[] } = {},
): MedicationStatement {
  return {
    resourceType: 'MedicationStatement',
    id,
    status: opts.status ?? 'active',
    medicationCodeableConcept: product,
    subject: { reference: `Patient/${patientId}` },
    effectivePeriod: { start, ...(opts.end ? { end: opts.end } : {}) },
    ...(opts.dosage ? { dosage: opts.dosage } : {}),
  };
}

export function condition(
  id: string,
  patientId: string,
  code: CodeableConcept,
  opts: { clinicalStatus?: string; onset?: string; abatement?: string } = {},
): Condition {
  return {
    resourceType: 'Condition',
    id,
    clinicalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: opts.clinicalStatus ?? 'active' },
      ],
    },
    verificationStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }],
    },
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] },
    ],
    code,
    subject: { reference: `Patient/${patientId}` },
    ...(opts.onset ? { onsetDateTime: opts.onset } : {}),
    ...(opts.abatement ? { abatementDateTime: opts.abatement } : {}),
  };
}

export function dxaReport(id: string, patientId: string, effective: string): DiagnosticReport {
  return {
    resourceType: 'DiagnosticReport',
    id,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD' }] }],
    code: { coding: [{ system: LOINC, code: '38269-7', display: 'DXA Bone density' }], text: 'DXA BONE DENSITOMETRY' },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: effective,
    issued: effective,
  };
}

export function dxaOrder(id: string, patientId: string, status: ServiceRequest['status'] = 'active'): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    id,
    status,
    intent: 'order',
    code: { coding: [{ system: LOINC, code: '38269-7', display: 'DXA Bone density' }], text: 'DXA bone density' },
    subject: { reference: `Patient/${patientId}` },
  };
}
