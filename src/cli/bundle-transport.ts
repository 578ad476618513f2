/**
 * The record reader's transport over a FHIR Bundle read from disk (crosstalk evaluate): it answers the service's
 * reads and searches from the Bundle's entries for one patient, as a FHIR server holding only that Bundle would
 * answer them. A Bundle is what an EHR chose to export, so a search answers every resource of its type that
 * belongs to the patient; its other parameters (codes, statuses, sorting, page size) filter nothing: the engine
 * selects by code itself, as it always did here.
 */
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import type { Transport } from '../cds/record-reader';
import { FhirError } from '../fhir/bundle';

/** Never fetched: the URL space the reader's requests are resolved in. */
const BASE = 'https://bundle.invalid/fhir';

type WithSubject = Resource & { subject?: { reference?: string } };

/** `id`: the patient's id, or for a patient entry without one a stand-in the reader's requests will carry. */
export function bundleTransport(entries: BundleEntry[], patientEntry: BundleEntry, id: string): Transport {
  const patient = patientEntry.resource as Resource;
  const refs = new Set([`Patient/${patient.id}`, ...(patientEntry.fullUrl ? [patientEntry.fullUrl] : [])]);
  // The engine checks subjects against Patient/<id>; a urn:uuid subject is the same patient here. One copy per
  // resource, so two searches of one type answer the same objects and the reader counts each once.
  const mine = new Map<string, Resource[]>();
  for (const e of entries) {
    const r = e.resource as WithSubject | undefined;
    const ref = r?.subject?.reference;
    if (!r || !ref || !refs.has(ref)) continue;
    const copy = { ...r, subject: { reference: `Patient/${patient.id}` } } as Resource;
    mine.set(r.resourceType, [...(mine.get(r.resourceType) ?? []), copy]);
  }
  return {
    base: BASE,
    async get(url) {
      const [type, wanted] = url.pathname
        .slice(new URL(BASE).pathname.length + 1)
        .split('/')
        .map(decodeURIComponent);
      if (wanted !== undefined) {
        if (type === 'Patient' && wanted === id) return patient;
        // A Medication belongs to no patient: any order in the Bundle may point at it.
        const med =
          type === 'Medication'
            ? entries.find((e) => e.resource?.resourceType === 'Medication' && e.resource.id === wanted)?.resource
            : undefined;
        if (med) return med;
        throw new FhirError({ kind: 'http', status: 404 });
      }
      const hers = url.searchParams.get('patient') === id ? (mine.get(type ?? '') ?? []) : [];
      const searchset: Bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: hers.map((resource) => ({ resource })),
      };
      return searchset;
    },
  };
}
