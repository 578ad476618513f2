/**
 * The app's data access: the patient in context and what the patient-view service reads about them (labs,
 * medicines, problems, bone density and the rest), through the same record reader as the service, with
 * fhirclient and the launch's access token as its transport. The queries are the service's own prefetch
 * templates, so the app evaluates the record the cards came from.
 */
import type Client from 'fhirclient/lib/Client';
import type { ServiceReads } from '../cds/reads';
import { readRecord, readReferencedMedications, recordResources } from '../cds/record-reader';
import { type ClinicalInput, inputFromResources } from '../clinical';
import { FhirError } from '../fhir/bundle';
import { fhirclientTransport } from '../fhir/fhirclient-transport';

/** Enough pages for years of monthly labs, bounded so one odd record cannot stall the app. */
const MAX_PAGES = 10;

/**
 * Reads every template at once. An expired session, or a failed read of the patient or of a key the service
 * cannot do without, stops the read (the app shows why); any other key that fails is reported the way the
 * service reports it, as context that could not be read, and the rules that need it say so.
 */
export async function readRecordOf(client: Client, reads: ServiceReads): Promise<ClinicalInput> {
  const patientId = client.patient.id;
  if (!patientId) throw new Error('The launch gave no patient: open the app from a patient chart.');
  const transport = fhirclientTransport(client);
  // The same resolution as the service's: Medications the orders point at and _include did not bring.
  const read = await readReferencedMedications(
    await readRecord(reads, { patientId }, transport, { maxPages: MAX_PAGES }),
    { patientId },
    transport,
  );
  const failures = Object.values(read.failures);
  const expired = failures.find((f) => f.kind === 'http' && f.status === 401);
  if (expired) throw new FhirError(expired);
  for (const key of [reads.patientKey, ...reads.required]) {
    const f = read.failures[key];
    if (f) throw new FhirError(f);
  }
  if (!read.patient) throw new Error('The FHIR server returned no Patient for the patient in context.');
  // A list read only in part (the page limit, a link outside the server) could not be checked, as on the server.
  return {
    ...inputFromResources(read.patient, recordResources(read, reads)),
    unavailable: read.unavailable,
    ...(read.unreadable.length ? { unreadable: read.unreadable } : {}),
  };
}

/** What kind of failure stopped the read: the app shows each differently. */
export function failureKind(e: unknown): { kind: 'expired' } | { kind: 'fhir'; detail: string } {
  const f = e instanceof FhirError ? e.failure : undefined;
  if (f?.kind === 'http' && f.status === 401) return { kind: 'expired' };
  if (f?.kind === 'http') return { kind: 'fhir', detail: `the FHIR server answered HTTP ${f.status}` };
  if (f?.kind === 'network') return { kind: 'fhir', detail: 'the FHIR server could not be reached' };
  if (f?.kind === 'timeout') return { kind: 'fhir', detail: 'the FHIR server did not answer in time' };
  if (f?.kind === 'refused') return { kind: 'fhir', detail: 'the FHIR server sent a link outside its own address' };
  return { kind: 'fhir', detail: 'the FHIR server gave an unreadable answer' };
}
