import type { Observation, Patient } from 'fhir/r4';
import type { Knowledge } from './knowledge';
import type { Finding, PatientEvaluation, PatientFacts, RuleOutcome } from './types';
import { ageOn } from './dates';
import { computeMeasures } from './measures';
import { normaliseObservations } from './observations';
import { DEFAULT_RULES, type Rule } from './rules';
import { selectInputs } from './selection';

/** What the engine needs about one patient: FHIR R4 resources, already gathered. */
export interface ClinicalInput {
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
 * The clinical engine: observations → normalised labs → selected draws → measures → rule outcomes → findings.
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
  const ctx = { patient, asOf, labs, rejected, selection, measures, knowledge, ...(ageNow !== undefined ? { ageNow } : {}) };

  const outcomes: RuleOutcome[] = rules.map((r) => r.evaluate(ctx));
  supersede(rules, outcomes);
  const context = outcomes.flatMap((o) => (o.status === 'context' ? (o.context ?? []) : []));
  const findings: Finding[] = outcomes
    .filter((o) => o.status === 'fired' && o.finding)
    .map((o) => ({ ...(o.finding as Finding), context: [...(o.finding as Finding).context, ...context] }));
  for (const o of outcomes) if (o.finding) o.finding = findings.find((f) => f.ruleId === o.ruleId);

  return { patient, asOf: asOf.toISOString(), labs, rejected, measures, outcomes, findings };
}

/** A fired rule that supersedes another turns the other's finding into a suppression that names it. */
function supersede(rules: readonly Rule[], outcomes: RuleOutcome[]): void {
  rules.forEach((rule, i) => {
    if (outcomes[i]?.status !== 'fired') return;
    for (const victim of rule.supersedes ?? []) {
      const j = rules.findIndex((r) => r.id === victim);
      const o = outcomes[j];
      if (o?.status === 'fired') {
        outcomes[j] = { ruleId: o.ruleId, status: 'suppressed', reasons: [{ code: 'superseded', text: `covered by ${rule.id}` }] };
      }
    }
  });
}
