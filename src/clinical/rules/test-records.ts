import type { Observation, Patient, Resource } from 'fhir/r4';
import { loadKnowledgeSync } from '../../config/knowledge-file';
import { concept, condition, dailyDosage, daysAgo, lab, medicationRequest, patient } from '../../demo/builders';
import type { ContextDomain } from '../context';
import { evaluatePatient } from '../engine';
import { inputFromResources } from '../input';
import type { Knowledge } from '../knowledge';
import type { PatientEvaluation } from '../types';

/* Records shaped the way EHRs send them, shared by the per-rule tests. */

export const k = loadKnowledgeSync();
export const NOW = new Date('2026-11-25T12:00:00Z');
export const woman = (age: number): Patient => patient('p', 'female', `${2026 - age - 1}-06-01`);
export const man = (age: number): Patient => patient('p', 'male', `${2026 - age - 1}-06-01`);

export function run(
  p: Patient,
  resources: Resource[],
  opts: { unavailable?: ContextDomain[]; knowledge?: Knowledge; now?: Date } = {},
): PatientEvaluation {
  return evaluatePatient(
    { ...inputFromResources(p, resources), unavailable: opts.unavailable ?? [] },
    opts.knowledge ?? k,
    opts.now ?? NOW,
  );
}
export const outcomeOf = (e: PatientEvaluation, id: string) => e.outcomes.find((o) => o.ruleId === id)!;
export const codes = (e: PatientEvaluation, id: string) => outcomeOf(e, id).reasons.map((r) => r.code);
export const cards = (e: PatientEvaluation) => e.findings.map((f) => f.ruleId);
export const orderCodes = (e: PatientEvaluation) =>
  e.findings.flatMap((f) => f.suggestions.flatMap((s) => s.orders.map((o) => o.code)));

export const lowPair = (day = 10): Observation[] => [
  lab('cr', 'p', 'creatinineMass', 0.6, daysAgo(NOW, day)),
  lab('cys', 'p', 'cystatinC', 1.0, daysAgo(NOW, day, 10)),
];
export const creatinineOnly = (value = 0.8, day = 10): Observation[] => [
  lab('cr', 'p', 'creatinineMass', value, daysAgo(NOW, day)),
];

/** A CRP as labs send it when above the analyser's range: a comparator and the number. */
export function crp(
  id: string,
  value: number,
  effective: string,
  comparator?: '<' | '>' | '<=' | '>=',
  unit = 'mg/L',
): Observation {
  return lab(id, 'p', 'crp', value, effective, { unit, ...(comparator ? { comparator } : {}) });
}

/** A lab result whose unit arrives only as display text, no UCUM system or code (common in HL7 v2 feeds). */
export function textUnit(o: Observation, unit: string): Observation {
  return { ...o, valueQuantity: { value: o.valueQuantity?.value as number, unit } };
}

export const ra = condition('ra', 'p', concept('sct', '69896004', 'Rheumatoid arthritis'));
export const prednisone = (mg = 10) =>
  medicationRequest('pred', 'p', concept('rxnorm', '8640', 'prednisone'), {
    authoredOn: daysAgo(NOW, 120),
    supplyDays: 90,
    repeats: 1,
    dosage: [dailyDosage(mg, 'mg', 1)],
  });
