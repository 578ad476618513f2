import type { ClinicalContext } from '../context';
import type { Knowledge } from '../knowledge';
import type { Selection } from '../selection';
import { sharedReason } from '../text';
import type { Finding, LabValue, Measure, PatientFacts, Reason, RejectedObservation, RuleOutcome } from '../types';

/** Everything a rule may look at. Rules read it; none of them fetch anything. */
export interface RuleContext {
  patient: PatientFacts;
  asOf: Date;
  labs: LabValue[];
  rejected: RejectedObservation[];
  selection: Selection;
  measures: Measure[];
  knowledge: Knowledge;
  /** Medicines, conditions and bone assessments, matched to the code sets; and what could not be read. */
  context: ClinicalContext;
  /** Age in completed years today (for eligibility); equations use the age at the specimen. */
  ageNow?: number;
}

/**
 * A rule: its id (the key of its data under rules.<id> in the knowledge file) and how it reads a patient. Its
 * precedence, title and hooks are data; a rule file also exports `knowledge`, the shape of that data.
 */
export interface Rule {
  id: string;
  evaluate(ctx: RuleContext): RuleOutcome;
}

export const outcome = {
  fired: (ruleId: string, finding: Finding, reasons: Reason[] = []): RuleOutcome => ({
    ruleId,
    status: 'fired',
    reasons,
    finding,
  }),
  context: (ruleId: string, context: string[], briefContext: string[], attachTo?: string[]): RuleOutcome => ({
    ruleId,
    status: 'context',
    reasons: [],
    context,
    briefContext,
    ...(attachTo ? { attachTo } : {}),
  }),
  suppressed: (ruleId: string, reasons: Reason[]): RuleOutcome => ({ ruleId, status: 'suppressed', reasons }),
  notMet: (ruleId: string, reasons: Reason[]): RuleOutcome => ({ ruleId, status: 'not-met', reasons }),
  disabled: (ruleId: string, k: Knowledge): RuleOutcome => ({
    ruleId,
    status: 'not-met',
    reasons: [sharedReason(k, 'disabled')],
  }),
};
