import type { Observation, Patient } from 'fhir/r4';
import type { Knowledge } from './knowledge';
import type { Finding, PatientEvaluation, PatientFacts, RuleOutcome } from './types';
import { type ContextInput, buildContext } from './context';
import { ageOn } from './dates';
import { computeMeasures } from './measures';
import { normaliseObservations } from './observations';
import { DEFAULT_RULES, type Rule } from './rules';
import { selectInputs } from './selection';

/**
 * What the engine needs about one patient: FHIR R4 resources, already gathered. Everything beyond the Patient and
 * the Observations is optional; a domain the caller could not read is named in `unavailable`, not left empty.
 */
export interface ClinicalInput extends ContextInput {
  patient: Patient;
  observations: Observation[];
}

export function patientFacts(p: Patient): PatientFacts {
  return {
    reference: `Patient/${p.id ?? ''}`,
    ...(p.birthDate ? { birthDate: p.birthDate } : {}),
    ...(p.gender === 'female' || p.gender === 'male' ? { sex: p.gender } : {}),
  };
}

/**
 * The clinical engine: resources → normalised labs and context → selected draws → measures → rule outcomes → findings.
 * Pure: the same input and `asOf` always give the same output, in Node and in the browser.
 */
export function evaluatePatient(
  input: ClinicalInput,
  knowledge: Knowledge,
  asOf: Date,
  rules: readonly Rule[] = DEFAULT_RULES,
): PatientEvaluation {
  const patient = patientFacts(input.patient);
  const { labs, rejected } = normaliseObservations(input.observations, patient.reference, knowledge);
  const selection = selectInputs(labs, knowledge, asOf);
  const measures = computeMeasures(patient, selection, knowledge);
  const ageNow = ageOn(patient.birthDate, asOf.toISOString());
  const context = buildContext(input, patient.reference, knowledge, asOf);
  const ctx = { patient, asOf, labs, rejected, selection, measures, knowledge, context, ...(ageNow !== undefined ? { ageNow } : {}) };

  const outcomes: RuleOutcome[] = rules.map((r) => r.evaluate(ctx));
  supersede(rules, outcomes);
  const findings: Finding[] = outcomes
    .filter((o) => o.status === 'fired' && o.finding)
    .map((o) => {
      const f = o.finding as Finding;
      const lines = outcomes.flatMap((c) => (c.status === 'context' && (!c.attachTo || c.attachTo.includes(f.ruleId)) ? (c.context ?? []) : []));
      return { ...f, context: [...f.context, ...lines] };
    });
  for (const o of outcomes) if (o.finding) o.finding = findings.find((f) => f.ruleId === o.ruleId);

  return { patient, asOf: asOf.toISOString(), labs, rejected, measures, outcomes, findings };
}

/**
 * One patient, one message: a fired rule that supersedes another turns the other's finding into a suppression
 * that names it, and takes over its one-line summary and its measures, so nothing said is lost.
 */
function supersede(rules: readonly Rule[], outcomes: RuleOutcome[]): void {
  rules.forEach((rule, i) => {
    const winner = outcomes[i];
    if (winner?.status !== 'fired' || !winner.finding) return;
    for (const victim of rule.supersedes ?? []) {
      const j = rules.findIndex((r) => r.id === victim);
      const o = outcomes[j];
      if (o?.status !== 'fired' || !o.finding) continue;
      const lost = o.finding;
      const known: Set<string> = new Set(winner.finding.measures.map((m) => m.code));
      winner.finding = {
        ...winner.finding,
        context: [...winner.finding.context, ...(lost.carryOver ? [lost.carryOver] : [])],
        measures: [...winner.finding.measures, ...lost.measures.filter((m) => !known.has(m.code))],
      };
      outcomes[j] = { ruleId: o.ruleId, status: 'suppressed', reasons: [{ code: 'superseded', text: `covered by ${rule.id}` }] };
    }
  });
}
