import type { Condition } from 'fhir/r4';
import { type ConceptMatch, matchConcepts, textsOf } from './codesets';
import { parseFhirInstant } from './dates';
import type { Knowledge } from './knowledge';
import { belongsToPatient } from './subject';

/** A Condition reduced to what the rules ask: which concepts it is, whether it is current, and when it ended. */
export interface ConditionFact {
  reference: string;
  text: string;
  matches: ConceptMatch[];
  /** Active, recurrence or relapse (or no clinical status given). */
  active: boolean;
  clinicalStatus?: string;
  onsetMs?: number;
  abatementMs?: number;
  /**
   * Shown by a result, not recorded as a Condition (a pregnancy status, thyrotoxicosis by TSH and free T4): it holds
   * from onsetMs to abatementMs only, and counts where a state changes what a lab means, never as a diagnosis.
   */
  observed?: true;
}

const ACTIVE = new Set(['active', 'recurrence', 'relapse']);
const NOT_TRUE = new Set(['refuted', 'entered-in-error']);

function code(cc: Condition['clinicalStatus']): string | undefined {
  return (
    cc?.coding?.find((c) => c.system === 'http://terminology.hl7.org/CodeSystem/condition-clinical')?.code ??
    cc?.coding?.[0]?.code
  );
}

/** Conditions we know, refuted and mistaken ones dropped; resolved ones kept (a healed fracture is history that counts). */
export function conditionFacts(conditions: Condition[], patientRef: string, k: Knowledge): ConditionFact[] {
  const out: ConditionFact[] = [];
  for (const c of conditions) {
    if (!belongsToPatient(c, patientRef)) continue;
    const verification = c.verificationStatus?.coding?.[0]?.code;
    if (verification && NOT_TRUE.has(verification)) continue;
    const matches = matchConcepts(c.code, k.codesets.conditions, 'conditions');
    if (!matches.length) continue;
    const status = code(c.clinicalStatus);
    const onsetMs = parseFhirInstant(c.onsetDateTime ?? c.onsetPeriod?.start ?? c.recordedDate);
    const abatementMs = parseFhirInstant(c.abatementDateTime ?? c.abatementPeriod?.end ?? c.abatementPeriod?.start);
    out.push({
      reference: `Condition/${c.id ?? '(no id)'}`,
      text: textsOf(c.code)[0] ?? matches[0]?.concept.display ?? 'condition',
      matches,
      active: status ? ACTIVE.has(status) : abatementMs === undefined,
      ...(status ? { clinicalStatus: status } : {}),
      ...(onsetMs !== undefined ? { onsetMs } : {}),
      ...(abatementMs !== undefined ? { abatementMs } : {}),
    });
  }
  return out;
}
