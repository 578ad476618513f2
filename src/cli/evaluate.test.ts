import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadServices } from '../cds/services';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { demoTransaction } from '../demo/patients';
import { syntheticPatient } from '../demo/population';
import { evaluateBundle, type PatientResult } from './evaluate';

const NOW = new Date('2026-11-25T12:00:00Z');
const knowledge = loadKnowledgeSync();
const service = loadServices(undefined, undefined, knowledge).get('bone-muscle-patient-view');
if (!service) throw new Error('no patient-view service');

type WithSubject = Resource & { subject?: { reference?: string } };

/** Card and suggestion uuids are drawn fresh on every render; everything else must match. */
const comparable = (r: PatientResult[]) =>
  JSON.parse(JSON.stringify(r, (k, v) => (k === 'uuid' ? '<uuid>' : v))) as PatientResult[];

/**
 * The rule as it was before the index, written out as a scan: a patient's resources are the entries whose subject
 * is `Patient/<id>` or the patient entry's fullUrl, and every Medication counts for everyone. Each patient is then
 * evaluated from a Bundle holding only those entries, where no other patient's data can reach them.
 */
async function onePatientAtATime(bundle: Bundle): Promise<PatientResult[]> {
  const entries = bundle.entry ?? [];
  const out: PatientResult[] = [];
  for (const entry of entries.filter((e) => e.resource?.resourceType === 'Patient')) {
    const refs = [`Patient/${entry.resource?.id}`, entry.fullUrl];
    const own = entries.filter(
      (e) =>
        e === entry ||
        e.resource?.resourceType === 'Medication' ||
        refs.includes((e.resource as WithSubject | undefined)?.subject?.reference),
    );
    out.push(...(await evaluateBundle({ ...bundle, entry: own }, service!, knowledge, NOW)));
  }
  return out;
}

/** Generated patients whose resources point at them three ways: `Patient/<id>`, a urn:uuid and an absolute URL. */
function mixedReferences(n: number): Bundle {
  const entry: BundleEntry[] = [];
  for (let i = 0; i < n; i++) {
    const [patient, ...rest] = syntheticPatient(i, 7, NOW.getTime());
    const form = i % 3;
    const fullUrl =
      form === 1
        ? `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`
        : `https://ehr.example/fhir/Patient/${patient?.id}`;
    entry.push({ fullUrl, resource: patient as Resource });
    for (const r of rest as WithSubject[])
      entry.push({
        resource: form === 0 ? r : ({ ...r, subject: { reference: fullUrl } } as Resource),
      });
  }
  // Interleaved, as a transaction assembled by resource type would be: no patient's entries sit together.
  entry.sort((a, b) => (a.resource?.resourceType ?? '').localeCompare(b.resource?.resourceType ?? ''));
  return { resourceType: 'Bundle', type: 'collection', entry };
}

describe('evaluating a Bundle of many patients from its index', () => {
  it('gives every demo patient exactly the result a Bundle holding only that patient gives', async () => {
    const bundle = demoTransaction(NOW);
    const whole = comparable(await evaluateBundle(bundle, service, knowledge, NOW));
    expect(whole.length).toBeGreaterThan(5);
    expect(whole).toEqual(comparable(await onePatientAtATime(bundle)));
  }, 120_000);

  it('finds each patient’s resources by Patient/<id>, urn:uuid and absolute-URL subjects, in a shuffled Bundle', async () => {
    const bundle = mixedReferences(90);
    const whole = comparable(await evaluateBundle(bundle, service, knowledge, NOW));
    expect(whole).toHaveLength(90);
    expect(whole).toEqual(comparable(await onePatientAtATime(bundle)));
    // However a resource names its patient, the patient reads the same as with plain Patient/<id> subjects.
    const plain: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: Array.from({ length: 90 }, (_, i) => syntheticPatient(i, 7, NOW.getTime()))
        .flat()
        .map((resource) => ({ resource })),
    };
    expect(whole).toEqual(comparable(await evaluateBundle(plain, service, knowledge, NOW)));
    // The generated patients are not all alike: the comparison covers measures and cards, not empty results.
    expect(whole.filter((r) => r.cards.length > 0).length).toBeGreaterThan(10);
    expect(whole.filter((r) => r.measures.length > 0).length).toBeGreaterThan(40);
  }, 120_000);
});
