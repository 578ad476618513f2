/**
 * What `crosstalk evaluate` costs per patient on 1k, 5k and 10k generated patients (`npm run bench:evaluate`).
 *
 * The demo population (src/demo/population.ts, the generator behind `crosstalk demo-population`) is put into one
 * collection Bundle per size, not timed, and the evaluation runs in this process exactly as the CLI runs it
 * (evaluateBundleEach, one patient at a time, each result consumed before the next). Each size runs three times; the
 * table prints ms per patient and, per run, the ratio of the 10k run's total time to the 1k run's: about 10 when the
 * cost is linear in the number of patients, about 100 when every patient scans the whole Bundle. The machine is
 * shared, so the load average is printed beside the numbers. Sizes: `npm run bench:evaluate -- 1000 5000 10000`.
 */
import os from 'node:os';
import type { Bundle } from 'fhir/r4';
import { loadServices } from '../src/cds/services';
import { evaluateBundleEach } from '../src/cli/evaluate';
import { loadKnowledgeSync } from '../src/config/knowledge-file';
import { syntheticPatient } from '../src/demo/population';

const NOW = new Date('2026-12-01T00:00:00Z');
const RUNS = 3;
const given = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const SIZES = given.length ? given : [1_000, 5_000, 10_000];

function population(n: number): Bundle {
  const entry = [];
  for (let i = 0; i < n; i++)
    for (const resource of syntheticPatient(i, 1, NOW.getTime()))
      entry.push({ fullUrl: `urn:uuid:${resource.resourceType}-${resource.id}`, resource });
  return { resourceType: 'Bundle', type: 'collection', entry };
}

async function main(): Promise<void> {
  const knowledge = loadKnowledgeSync();
  const service = loadServices(undefined, undefined, knowledge).get('bone-muscle-patient-view');
  if (!service) throw new Error('service bone-muscle-patient-view is not defined');
  console.log(
    `cores ${os.availableParallelism()}; load average at start ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log('run  patients  entries  seconds  ms/patient  load (1 min)');
  const seconds = new Map<number, number[]>();
  for (let run = 1; run <= RUNS; run++) {
    for (const n of SIZES) {
      const bundle = population(n);
      const start = performance.now();
      let count = 0;
      for await (const _ of evaluateBundleEach(bundle, service, knowledge, NOW)) count++;
      const s = (performance.now() - start) / 1000;
      if (count !== n) throw new Error(`evaluated ${count} patients, expected ${n}`);
      seconds.set(n, [...(seconds.get(n) ?? []), s]);
      console.log(
        `${String(run).padStart(3)}  ${String(n).padStart(8)}  ${String(bundle.entry?.length).padStart(7)}  ${s.toFixed(2).padStart(7)}  ${((s * 1000) / n).toFixed(3).padStart(10)}  ${os.loadavg()[0]?.toFixed(2).padStart(12)}`,
      );
    }
  }
  const first = SIZES[0] as number;
  const last = SIZES[SIZES.length - 1] as number;
  const ratios = (seconds.get(last) ?? []).map((s, i) =>
    (s / ((seconds.get(first) ?? [])[i] ?? Number.NaN)).toFixed(1),
  );
  console.log(`ratio ${last}/${first} per run: ${ratios.join(', ')} (linear ≈ ${(last / first).toFixed(0)})`);
  console.log(`target: ${last} patients ≤ 8 s`);
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});
