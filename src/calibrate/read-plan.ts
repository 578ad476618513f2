/**
 * What the patient-view service's record reader keeps of a patient's resources when every search is answered from
 * them, as `crosstalk evaluate` answers from a Bundle (bundle-transport.ts): every resource of each type the
 * service's templates search, each once, and the domains it could not read. That depends on the service definition
 * only, not on the patient, so it is worked out once by running the reader itself over a probe patient holding one
 * resource of every type, and then applied to each patient without the reader's per-call work (URLs, searchsets),
 * which cost as much as the evaluation itself.
 */
import type { Patient, Resource } from 'fhir/r4';
import type { ServiceReads } from '../cds/reads';
import { readRecord, recordResources } from '../cds/record-reader';
import { bundleTransport } from '../cli/bundle-transport';
import type { ContextDomain } from '../clinical';

/** Resource types a patient's export may hold: the probe offers one of each, the reader keeps those it reads. */
const PROBE_TYPES = [
  'Observation',
  'MedicationRequest',
  'MedicationStatement',
  'MedicationAdministration',
  'MedicationDispense',
  'Condition',
  'DiagnosticReport',
  'ServiceRequest',
  'Procedure',
  'Encounter',
  'AllergyIntolerance',
  'Immunization',
  'CarePlan',
  'DocumentReference',
  'Coverage',
  'Claim',
  'ExplanationOfBenefit',
  'ImagingStudy',
  'Device',
  'Goal',
  'CareTeam',
] as const;

export interface ReadPlan {
  types: Set<string>;
  unavailable: ContextDomain[];
  select(resources: Resource[]): Resource[];
}

/** A read plan as plain data, to send to a worker thread. */
export interface PlanData {
  types: string[];
  unavailable: ContextDomain[];
}

export function planFrom(data: PlanData): ReadPlan {
  const types = new Set(data.types);
  return {
    types,
    unavailable: data.unavailable,
    select: (resources) => resources.filter((r) => types.has(r.resourceType)),
  };
}

export async function readPlan(reads: ServiceReads): Promise<ReadPlan> {
  const id = 'read-plan-probe';
  const patient: Patient = { resourceType: 'Patient', id };
  const probe = PROBE_TYPES.map((t, i) => ({
    resource: { resourceType: t, id: `p${i}`, subject: { reference: `Patient/${id}` } } as unknown as Resource,
  }));
  const entries = [{ resource: patient as Resource }, ...probe];
  const read = await readRecord(
    reads,
    { patientId: id },
    bundleTransport(entries, entries[0] as { resource: Resource }, id),
    { maxPages: 1 },
  );
  return planFrom({
    types: [...new Set(recordResources(read, reads).map((r) => r.resourceType))],
    unavailable: read.unavailable,
  });
}
