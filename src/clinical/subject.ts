/**
 * Whether a resource is about this patient ("Patient/123"): its subject names the patient, relatively or as a full
 * URL ending in the reference. A resource with no subject came from a prefetch or search already scoped to the patient.
 */
export function belongsToPatient(r: { subject?: { reference?: string } }, patientRef: string): boolean {
  const s = r.subject?.reference;
  return !s || s === patientRef || s.endsWith(`/${patientRef}`);
}
