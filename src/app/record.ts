/**
 * The app's data access: the patient in context and what the patient-view service reads about them (labs,
 * medicines, problems, bone density and the rest), through fhirclient with the launch's access token. The
 * queries are the service's own prefetch templates, so the app evaluates the record the cards came from.
 */
import type Client from 'fhirclient/lib/Client';
import type { Patient, Resource } from 'fhir/r4';
import { type ServiceReads, fillTokens, unavailableDomains } from '../cds/reads';
import type { ClinicalInput } from '../clinical/engine';
import { inputFromResources } from '../clinical/input';

/** Enough pages for years of monthly labs, bounded so one odd record cannot stall the app. */
const MAX_PAGES = 10;

const statusOf = (e: unknown) => (e as { status?: unknown })?.status;

/**
 * Runs every template at once. An expired session, or a failed read of the patient or of a key the service
 * cannot do without, stops the read (the app shows why); any other key that fails is reported the way the
 * service reports it, as context that could not be read, and the rules that need it say so.
 */
export async function readRecord(client: Client, reads: ServiceReads): Promise<ClinicalInput> {
  const patientId = client.patient.id;
  if (!patientId) throw new Error('The launch gave no patient: open the app from a patient chart.');
  const keys = Object.keys(reads.templates);
  const settled = await Promise.allSettled(
    keys.map((key) => {
      const url = fillTokens(key, reads.templates[key] ?? '', { patientId });
      return key === reads.patientKey ? client.request<Patient>(url) : client.request<Resource[]>(url, { pageLimit: MAX_PAGES, flat: true });
    }),
  );
  const outcome = (key: string) => settled[keys.indexOf(key)];
  const expired = settled.find((r) => r.status === 'rejected' && statusOf(r.reason) === 401);
  if (expired?.status === 'rejected') throw expired.reason;
  for (const key of [reads.patientKey, ...reads.required]) {
    const r = outcome(key);
    if (r?.status === 'rejected') throw r.reason;
  }
  const read = outcome(reads.patientKey);
  const patient = read?.status === 'fulfilled' && !Array.isArray(read.value) && read.value?.resourceType === 'Patient' ? read.value : undefined;
  if (!patient) throw new Error('The FHIR server returned no Patient for the patient in context.');
  const resources = keys.flatMap((key, i) => {
    const r = settled[i];
    if (key === reads.patientKey || r?.status !== 'fulfilled' || !Array.isArray(r.value)) return [];
    return (r.value as Resource[]).filter((x) => typeof x?.resourceType === 'string' && x.resourceType !== 'OperationOutcome');
  });
  const failed = new Set(keys.filter((_, i) => settled[i]?.status === 'rejected'));
  return { ...inputFromResources(patient, resources), unavailable: unavailableDomains(reads.contextDomains, (key) => failed.has(key)) };
}

/** What kind of failure stopped the read: the app shows each differently. */
export function failureKind(e: unknown): { kind: 'expired' } | { kind: 'fhir'; detail: string } {
  const status = (e as { status?: unknown })?.status;
  if (status === 401) return { kind: 'expired' };
  if (typeof status === 'number') return { kind: 'fhir', detail: `the FHIR server answered HTTP ${status}` };
  return { kind: 'fhir', detail: e instanceof Error && e.name === 'TypeError' ? 'the FHIR server could not be reached' : 'the FHIR server gave an unreadable answer' };
}
