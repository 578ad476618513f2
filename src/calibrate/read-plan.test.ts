import type { Patient, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { readsOf } from '../cds/reads';
import { readRecord, recordResources } from '../cds/record-reader';
import { loadServices } from '../cds/services';
import { bundleTransport } from '../cli/bundle-transport';
import { demoTransaction } from '../demo/patients';
import { syntheticPatient } from '../demo/population';
import { readPlan } from './read-plan';

const NOW = new Date('2026-12-01T00:00:00Z');

describe('the read plan', () => {
  it('keeps of each patient exactly what the record reader reads from a Bundle of that patient, demo and synthetic', async () => {
    const service = loadServices().get('bone-muscle-patient-view');
    if (!service) throw new Error('no patient-view service');
    const reads = readsOf(service.definition);
    const plan = await readPlan(reads);
    const records: Resource[][] = [
      ...(() => {
        const all = (demoTransaction(NOW).entry ?? []).map(
          (e) => e.resource as Resource & { subject?: { reference?: string } },
        );
        return all
          .filter((r) => r.resourceType === 'Patient')
          .map((p) => [p, ...all.filter((r) => r.subject?.reference === `Patient/${p.id}`)]);
      })(),
      ...Array.from({ length: 200 }, (_, i) => syntheticPatient(i, 8, NOW.getTime())),
    ];
    expect(records.length).toBeGreaterThan(220);
    let compared = 0;
    for (const [patient, ...rest] of records) {
      const p = patient as Patient;
      const entries = [{ resource: p as Resource }, ...rest.map((resource) => ({ resource }))];
      const read = await readRecord(
        reads,
        { patientId: p.id },
        bundleTransport(entries, entries[0] as { resource: Resource }, p.id as string),
        { maxPages: 1 },
      );
      const byReader = recordResources(read, reads)
        .map((r) => `${r.resourceType}/${r.id}`)
        .sort();
      const byPlan = plan
        .select(rest)
        .map((r) => `${r.resourceType}/${r.id}`)
        .sort();
      expect(byPlan, p.id).toEqual(byReader);
      expect(plan.unavailable).toEqual(read.unavailable);
      compared += byReader.length;
    }
    expect(compared).toBeGreaterThan(500);
  });
});
