/**
 * The app's data access: the patient in context and their results for the analytes the knowledge names,
 * read from the EHR's FHIR server through fhirclient with the launch's access token.
 */
import type Client from 'fhirclient/lib/Client';
import type { Observation, Patient } from 'fhir/r4';
import type { Knowledge } from '../clinical/knowledge';

/** Enough pages for years of monthly labs, bounded so one odd record cannot stall the app. */
const PAGE_SIZE = 100;
const MAX_PAGES = 10;

export interface PatientRecord {
  patient: Patient;
  observations: Observation[];
}

/** Every code the engine knows, so the app reads exactly what the engine can use; the codes come from knowledge. */
export function labCodes(k: Knowledge): string {
  return Object.values(k.analytes)
    .flatMap((a) => a.codes.map((c) => `${c.system}|${c.code}`))
    .join(',');
}

export async function readRecord(client: Client, k: Knowledge): Promise<PatientRecord> {
  const patientId = client.patient.id;
  if (!patientId) throw new Error('The launch gave no patient: open the app from a patient chart.');
  const query = new URLSearchParams({ patient: patientId, code: labCodes(k), _sort: '-date', _count: String(PAGE_SIZE) });
  const [patient, found] = await Promise.all([
    client.request<Patient>(`Patient/${encodeURIComponent(patientId)}`),
    client.request<(Observation | { resourceType: string })[]>(`Observation?${query.toString()}`, { pageLimit: MAX_PAGES, flat: true }),
  ]);
  const observations = (Array.isArray(found) ? found : []).filter((r): r is Observation => r?.resourceType === 'Observation');
  return { patient, observations };
}

/** What kind of failure stopped the read: the app shows each differently. */
export function failureKind(e: unknown): { kind: 'expired' } | { kind: 'fhir'; detail: string } {
  const status = (e as { status?: unknown })?.status;
  if (status === 401) return { kind: 'expired' };
  if (typeof status === 'number') return { kind: 'fhir', detail: `the FHIR server answered HTTP ${status}` };
  return { kind: 'fhir', detail: e instanceof Error && e.name === 'TypeError' ? 'the FHIR server could not be reached' : 'the FHIR server gave an unreadable answer' };
}
