import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMA_DIR } from '../config/schemas';
import { FHIR_ID, FHIR_ID_SOURCE, isFhirId } from '../fhir/ids';
import { domainsOfKey, domainsOfType, judge, referenceOf, setAside } from './inputs';
import type { ServiceReads } from './reads';
import { medicationReferences } from './record-reader';

const long = (n: number) => 'aB3.-'.repeat(60).slice(0, n);

const prednisone = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'MedicationRequest',
  id: 'rx1',
  status: 'active',
  intent: 'order',
  subject: { reference: 'Patient/p' },
  medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '8640' }] },
  dosageInstruction: [
    {
      timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } },
      doseAndRate: [{ doseQuantity: { value: 7.5, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' } }],
    },
  ],
  ...extra,
});

describe('resource ids', () => {
  it('are FHIR id characters up to 256 long, as Epic sends them (100–200), in the TypeScript and in the schemas alike', () => {
    expect(isFhirId(long(150))).toBe(true);
    expect(isFhirId(long(256))).toBe(true);
    expect(isFhirId(long(257))).toBe(false);
    const schemas = ['fhir-inputs', 'context-patient-view', 'context-order-select', 'context-order-sign'].map((f) =>
      fs.readFileSync(path.join(SCHEMA_DIR, `${f}.schema.json`), 'utf8'),
    );
    const jsonSource = JSON.stringify(FHIR_ID_SOURCE).slice(1, -1).replace('-.', '-\\\\.');
    for (const s of schemas) {
      expect(s).toContain(jsonSource);
      expect(s).not.toMatch(/\{1,64\}/);
    }
  });

  it('never hold what would change a URL built from them', () => {
    for (const bad of ['a/b', 'a?b=c', 'a#b', 'a b', 'a%2Fb', 'a\nb', '', '../x'])
      expect(FHIR_ID.test(bad), bad).toBe(false);
    expect(judge(prednisone({ id: 'x/../Patient/other' })).ok).toBe(false);
    expect(judge(prednisone({ medicationReference: { reference: 'Medication/a b' } })).ok).toBe(false);
    expect(judge(prednisone({ medicationReference: { reference: 'Medication/1/_history/2' } })).ok).toBe(false);
  });

  it('of 150 characters are read everywhere: a resource, its medicationReference, the Medication it points at', () => {
    expect(judge(prednisone({ id: long(150) })).ok).toBe(true);
    expect(judge(prednisone({ medicationReference: { reference: `Medication/${long(150)}` } })).ok).toBe(true);
    expect(judge({ resourceType: 'Medication', id: long(150), code: { text: 'prednisone' } }).ok).toBe(true);
    expect(judge({ resourceType: 'Patient', id: long(150) }).ok).toBe(true);
    const order = prednisone({ medicationReference: { reference: `Medication/${long(150)}` } });
    expect(medicationReferences([order], undefined)).toEqual([long(150)]);
  });
});

describe('judging one resource', () => {
  it('does not check elements no rule reads: category, reasonCode and courseOfTherapyType as one object cost nothing', () => {
    const j = judge(
      prednisone({ category: { coding: [{ code: 'community' }] }, reasonCode: { text: 'x' }, courseOfTherapyType: 7 }),
    );
    expect(j.ok).toBe(true);
  });

  it('wraps a lone coding, dosage or doseAndRate into the one-element array it means, and says where', () => {
    const r = prednisone();
    const lone = {
      ...r,
      medicationCodeableConcept: { coding: r.medicationCodeableConcept.coding[0] },
      dosageInstruction: { ...r.dosageInstruction[0], doseAndRate: r.dosageInstruction[0]?.doseAndRate[0] },
    };
    const j = judge(lone);
    expect(j.ok).toBe(true);
    if (!j.ok) return;
    expect(j.resource).toEqual(r);
    expect(j.wrapped).toEqual([
      'MedicationRequest.medicationCodeableConcept.coding',
      'MedicationRequest.dosageInstruction',
      'MedicationRequest.dosageInstruction[0].doseAndRate',
    ]);
    // The sender's JSON is never changed.
    expect(Array.isArray(lone.dosageInstruction)).toBe(false);
  });

  it('does not guess at a type the rules read: a dose value as a string, a coding as a string, a Medication without an id', () => {
    const r = prednisone();
    const stringDose = structuredClone(r);
    Object.assign(stringDose.dosageInstruction[0]?.doseAndRate[0]?.doseQuantity ?? {}, { value: '7.5' });
    const s = judge(stringDose);
    expect(s.ok).toBe(false);
    if (!s.ok) expect(s.why).toContain('/dosageInstruction/0/doseAndRate/0/doseQuantity/value must be number');
    expect(judge({ ...r, medicationCodeableConcept: { coding: 'prednisone' } }).ok).toBe(false);
    expect(judge({ resourceType: 'Medication', code: { text: 'prednisone' } }).ok).toBe(false);
  });
});

describe('what a resource set aside could not be checked for', () => {
  const reads: ServiceReads = {
    patientKey: 'patient',
    required: ['patient'],
    templates: {
      patient: 'Patient/{{context.patientId}}',
      medicationRequests: 'MedicationRequest?patient={{context.patientId}}',
      osteoporosisTherapy: 'MedicationRequest?patient={{context.patientId}}&code=x',
      dxaOrders: 'ServiceRequest?patient={{context.patientId}}',
      crp: 'Observation?patient={{context.patientId}}&code=y',
    },
    contextDomains: {
      medicationRequests: ['medications', 'osteoporosis-therapy'],
      osteoporosisTherapy: ['osteoporosis-therapy'],
      dxaOrders: ['bone-density-orders'],
      crp: ['crp'],
    },
  };

  it('is the domains of the key it came under, or for a draft order the domains its kind feeds', () => {
    expect(domainsOfKey(reads, 'crp', { resourceType: 'Observation' })).toEqual(['crp']);
    expect(domainsOfKey(reads, 'patient', { resourceType: 'Patient' })).toEqual([]);
    expect(domainsOfType(reads, 'MedicationRequest')).toEqual(['medications', 'osteoporosis-therapy']);
    expect(domainsOfType(reads, 'ServiceRequest')).toEqual(['bone-density-orders']);
    // A Medication read by reference feeds what the orders pointing at it feed.
    expect(domainsOfKey(reads, 'referencedMedications', { resourceType: 'Medication' })).toEqual([
      'medications',
      'osteoporosis-therapy',
    ]);
  });

  it('is named by Type/id only when the id is a FHIR id, else by where it was found', () => {
    expect(referenceOf({ resourceType: 'MedicationRequest', id: long(150) }, 'x')).toBe(
      `MedicationRequest/${long(150)}`,
    );
    expect(referenceOf({ resourceType: 'MedicationRequest', id: 'a/../b' }, 'prefetch key "m"')).toBe(
      'prefetch key "m"',
    );
    expect(setAside({ resourceType: 'Observation', id: 'o' }, 'k', ['crp', 'bmi'], 'bad')).toEqual([
      { domain: 'crp', reference: 'Observation/o', reason: 'failed validation: bad' },
      { domain: 'bmi', reference: 'Observation/o', reason: 'failed validation: bad' },
    ]);
  });
});
