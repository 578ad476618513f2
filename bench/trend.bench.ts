/**
 * What the SMART app's trend costs next to the engine's own evaluation (`npm run bench:trend`).
 *
 * For records of 10, 40 and 160 quarterly draws (creatinine, cystatin C, fasting insulin and glucose per draw),
 * one run times `evaluatePatient` (the baseline: what a CDS call computes) and `measureTrends` (what the app adds
 * per page load) in this process, and prints the median of each and their ratio.
 */
import type { Observation } from 'fhir/r4';
import { evaluatePatient } from '../src/clinical/engine';
import { measureTrends } from '../src/clinical/trend';
import { loadKnowledgeSync } from '../src/config/knowledge-file';
import { daysAgo, lab, patient } from '../src/demo/builders';

const k = loadKnowledgeSync();
const NOW = new Date('2026-11-25T12:00:00Z');
const who = patient('bench', 'female', '1950-03-03');

function record(draws: number): Observation[] {
  return Array.from({ length: draws }, (_, i) => [
    lab(`cr-${i}`, 'bench', 'creatinineMass', 0.7 + (i % 7) * 0.03, daysAgo(NOW, 10 + i * 91)),
    lab(`cys-${i}`, 'bench', 'cystatinC', 1.0 + (i % 5) * 0.04, daysAgo(NOW, 10 + i * 91, 15)),
    lab(`ins-${i}`, 'bench', 'insulinFasting', 8 + (i % 4), daysAgo(NOW, 10 + i * 91, 20)),
    lab(`glu-${i}`, 'bench', 'glucoseFasting', 90 + (i % 6), daysAgo(NOW, 10 + i * 91, 20)),
  ]).flat();
}

function medianMs(f: () => unknown, budgetMs = 1500): { median: number; runs: number } {
  for (let i = 0; i < 20; i++) f(); // warm-up
  const times: number[] = [];
  const end = performance.now() + budgetMs;
  while (performance.now() < end) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)] as number, runs: times.length };
}

console.log('draws  observations  evaluatePatient ms  measureTrends ms  ratio trend/evaluate');
for (const draws of [10, 40, 160]) {
  const observations = record(draws);
  const base = medianMs(() => evaluatePatient({ patient: who, observations }, k, NOW));
  const e = evaluatePatient({ patient: who, observations }, k, NOW);
  const trend = medianMs(() => measureTrends(e.patient, e.labs, k, NOW));
  console.log(
    `${String(draws).padStart(5)}  ${String(observations.length).padStart(12)}  ${base.median.toFixed(3).padStart(18)}  ${trend.median.toFixed(3).padStart(16)}  ${(trend.median / base.median).toFixed(2).padStart(20)}`,
  );
}
