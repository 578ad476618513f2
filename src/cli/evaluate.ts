import type { Bundle, Patient, Resource } from 'fhir/r4';
import { renderCards, ruleTitleIn } from '../cds/cards';
import { readsOf } from '../cds/reads';
import { readRecord, recordResources } from '../cds/record-reader';
import type { CdsService } from '../cds/services';
import type { Card } from '../cds/types';
import {
  evaluatePatient,
  inputFromResources,
  type Knowledge,
  type MeasureSummary,
  type Reason,
  type RuleStatus,
  summariseMeasure,
} from '../clinical';
import { bundleTransport, indexBundle } from './bundle-transport';

export interface PatientResult {
  patient: string;
  measures: MeasureSummary[];
  cards: Card[];
  /** Why each rule that made no card stayed quiet: the same reasons the audit and the app's "why no card" show. */
  quiet: { ruleId: string; status: RuleStatus; reasons: Reason[] }[];
}

/**
 * Splits a Bundle into patients and reads each one's record through the same record reader as patient-view, the
 * Bundle standing in for the FHIR server (bundle-transport.ts): the service's templates pick what counts, and a
 * patient's resources are those whose subject is `Patient/<id>` or the patient entry's fullUrl. Medication
 * resources, which belong to no patient, count for every patient. Then the same engine and card renderer run.
 * Everything the Bundle holds counts as read: nothing is "unavailable" here.
 */
export async function evaluateBundle(
  bundle: Bundle,
  service: CdsService,
  knowledge: Knowledge,
  asOf: Date,
): Promise<PatientResult[]> {
  const out: PatientResult[] = [];
  for await (const r of evaluateBundleEach(bundle, service, knowledge, asOf)) out.push(r);
  return out;
}

/** The same, one patient at a time as each is evaluated, so a caller can write it out before the next. */
export async function* evaluateBundleEach(
  bundle: Bundle,
  service: CdsService,
  knowledge: Knowledge,
  asOf: Date,
): AsyncGenerator<PatientResult> {
  const entries = bundle.entry ?? [];
  const medications = entries.map((e) => e.resource).filter((r): r is Resource => r?.resourceType === 'Medication');
  // Indexed once by subject: each patient then costs what that patient has, so a Bundle costs linear time.
  const index = indexBundle(entries);
  const reads = readsOf(service.definition);
  for (const [i, entry] of entries.filter((e) => e.resource?.resourceType === 'Patient').entries()) {
    const p = entry.resource as Patient;
    // A transaction's new Patient may have no id yet, only a urn:uuid fullUrl its resources point at.
    const id = p.id ?? `bundle-patient-${i}`;
    const read = await readRecord(reads, { patientId: id }, bundleTransport(index, entry, id), { maxPages: 1 });
    const input = {
      ...inputFromResources(read.patient ?? p, [...recordResources(read, reads), ...medications]),
      unavailable: read.unavailable,
    };
    const evaluation = evaluatePatient(input, knowledge, asOf, service.rules);
    const cards = renderCards(evaluation, {
      service,
      patientId: p.id ?? '',
      knowledgeVersion: knowledge.version,
      ruleTitle: ruleTitleIn(knowledge),
    });
    const quiet = evaluation.outcomes
      .filter((o) => o.status !== 'fired')
      .map((o) => ({ ruleId: o.ruleId, status: o.status, reasons: o.reasons }));
    yield { patient: `Patient/${p.id}`, measures: evaluation.measures.map(summariseMeasure), cards, quiet };
  }
}

export function isBundle(x: unknown): x is Bundle {
  return !!x && typeof x === 'object' && (x as Resource).resourceType === 'Bundle';
}
