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

/**
 * The Bundle read once: each resource with a subject under that subject's reference string, exactly as written
 * (`Patient/<id>`, a urn:uuid, an absolute URL), with its place in the Bundle; and the Medication resources by id.
 * Built once per Bundle, so that finding one patient's resources costs what that patient has, not the whole Bundle
 * (every patient scanning every entry made a 10k-patient Bundle quadratic).
 */
export interface BundleIndex {
  bySubject: Map<string, { at: number; resource: WithSubject }[]>;
  /** The first Medication with each id, as a scan of the entries in order would find it. */
  medications: Map<string, Resource>;
}

export function indexBundle(entries: BundleEntry[]): BundleIndex {
  const bySubject: BundleIndex['bySubject'] = new Map();
  const medications: BundleIndex['medications'] = new Map();
  entries.forEach((e, at) => {
    const r = e.resource as WithSubject | undefined;
    if (!r) return;
    if (r.resourceType === 'Medication' && r.id !== undefined && !medications.has(r.id)) medications.set(r.id, r);
    const ref = r.subject?.reference;
    if (!ref) return;
    const list = bySubject.get(ref);
    if (list) list.push({ at, resource: r });
    else bySubject.set(ref, [{ at, resource: r }]);
  });
  return { bySubject, medications };
}

/**
 * `id`: the patient's id, or for a patient entry without one a stand-in the reader's requests will carry.
 * `bundle`: the Bundle's entries, or their index when many patients are read from one Bundle.
 */
export function bundleTransport(bundle: BundleEntry[] | BundleIndex, patientEntry: BundleEntry, id: string): Transport {
  const index = Array.isArray(bundle) ? indexBundle(bundle) : bundle;
  const patient = patientEntry.resource as Resource;
  const refs = new Set([`Patient/${patient.id}`, ...(patientEntry.fullUrl ? [patientEntry.fullUrl] : [])]);
  // The engine checks subjects against Patient/<id>; a urn:uuid subject is the same patient here. One copy per
  // resource, so two searches of one type answer the same objects and the reader counts each once. Kept in Bundle
  // order whichever of the patient's references each resource used.
  const found = [...refs].flatMap((ref) => index.bySubject.get(ref) ?? []);
  if (refs.size > 1) found.sort((a, b) => a.at - b.at);
  const mine = new Map<string, Resource[]>();
  for (const { resource: r } of found) {
    const copy = { ...r, subject: { reference: `Patient/${patient.id}` } } as Resource;
    const list = mine.get(r.resourceType);
    if (list) list.push(copy);
    else mine.set(r.resourceType, [copy]);
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
        const med = type === 'Medication' ? index.medications.get(wanted) : undefined;
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
