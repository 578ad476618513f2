import type { Bundle, Patient, Resource } from 'fhir/r4';
import type { Knowledge } from '../clinical/knowledge';
import type { MeasureSummary, Reason, RuleStatus } from '../clinical/types';
import { evaluatePatient } from '../clinical/engine';
import { inputFromResources } from '../clinical/input';
import { summariseMeasure } from '../clinical/measures';
import { renderCards } from '../cds/cards';
import type { CdsService } from '../cds/services';
import type { Card } from '../cds/types';

export interface PatientResult {
  patient: string;
  measures: MeasureSummary[];
  cards: Card[];
  /** Why each rule that made no card stayed quiet: the same reasons the audit and the app's "why no card" show. */
  quiet: { ruleId: string; status: RuleStatus; reasons: Reason[] }[];
}

type WithSubject = Resource & { subject?: { reference?: string } };

/**
 * Splits a Bundle into patients and their resources (Observations, medicines, Conditions, reports, orders), and
 * runs each through the same engine and card renderer as patient-view. References may be `Patient/<id>` or the
 * patient entry's fullUrl. Everything the Bundle holds counts as read: nothing is "unavailable" here.
 */
export function evaluateBundle(bundle: Bundle, service: CdsService, knowledge: Knowledge, asOf: Date): PatientResult[] {
  return [...evaluateBundleEach(bundle, service, knowledge, asOf)];
}

/** The same, one patient at a time as each is evaluated, so a caller can write it out before the next. */
export function* evaluateBundleEach(bundle: Bundle, service: CdsService, knowledge: Knowledge, asOf: Date): Generator<PatientResult> {
  const entries = bundle.entry ?? [];
  const patients = entries.filter((e) => e.resource?.resourceType === 'Patient');
  const others = entries.map((e) => e.resource as WithSubject | undefined).filter((r): r is WithSubject => !!r && r.resourceType !== 'Patient');
  const medications = others.filter((r) => r.resourceType === 'Medication');
  for (const entry of patients) {
    const p = entry.resource as Patient;
    const refs = new Set([`Patient/${p.id}`, ...(entry.fullUrl ? [entry.fullUrl] : [])]);
    const mine = others
      .filter((r) => r.subject?.reference && refs.has(r.subject.reference))
      // The engine checks subjects against Patient/<id>; a urn:uuid subject is the same patient here.
      .map((r) => ({ ...r, subject: { reference: `Patient/${p.id}` } }) as Resource);
    const evaluation = evaluatePatient(inputFromResources(p, [...mine, ...medications]), knowledge, asOf, service.rules);
    const cards = renderCards(evaluation, { service, patientId: p.id ?? '', knowledgeVersion: knowledge.version });
    const quiet = evaluation.outcomes.filter((o) => o.status !== 'fired').map((o) => ({ ruleId: o.ruleId, status: o.status, reasons: o.reasons }));
    yield { patient: `Patient/${p.id}`, measures: evaluation.measures.map(summariseMeasure), cards, quiet };
  }
}

export function isBundle(x: unknown): x is Bundle {
  return !!x && typeof x === 'object' && (x as Resource).resourceType === 'Bundle';
}
