import type { Bundle, Observation, Patient, Resource } from 'fhir/r4';
import type { Knowledge } from '../clinical/knowledge';
import type { MeasureSummary } from '../clinical/types';
import { evaluatePatient } from '../clinical/engine';
import { summariseMeasure } from '../clinical/measures';
import { renderCards } from '../cds/cards';
import type { CdsService } from '../cds/services';
import type { Card } from '../cds/types';

export interface PatientResult {
  patient: string;
  measures: MeasureSummary[];
  cards: Card[];
}

/**
 * Splits a Bundle into patients and their Observations, and runs each through the same engine and
 * card renderer as patient-view. References may be `Patient/<id>` or the patient entry's fullUrl.
 */
export function evaluateBundle(bundle: Bundle, service: CdsService, knowledge: Knowledge, asOf: Date): PatientResult[] {
  const entries = bundle.entry ?? [];
  const patients = entries.filter((e) => e.resource?.resourceType === 'Patient');
  const observations = entries.filter((e) => e.resource?.resourceType === 'Observation').map((e) => e.resource as Observation);
  return patients.map((entry) => {
    const p = entry.resource as Patient;
    const refs = new Set([`Patient/${p.id}`, ...(entry.fullUrl ? [entry.fullUrl] : [])]);
    const mine = observations
      .filter((o) => o.subject?.reference && refs.has(o.subject.reference))
      // The engine checks subjects against Patient/<id>; a urn:uuid subject is the same patient here.
      .map((o) => ({ ...o, subject: { reference: `Patient/${p.id}` } }));
    const evaluation = evaluatePatient({ patient: p, observations: mine }, knowledge, asOf, service.rules);
    const cards = renderCards(evaluation, { service, patientId: p.id ?? '', knowledgeVersion: knowledge.version });
    return { patient: `Patient/${p.id}`, measures: evaluation.measures.map(summariseMeasure), cards };
  });
}

export function isBundle(x: unknown): x is Bundle {
  return !!x && typeof x === 'object' && (x as Resource).resourceType === 'Bundle';
}
