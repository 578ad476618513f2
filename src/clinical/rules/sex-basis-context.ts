import { Type } from '@sinclair/typebox';
import { Provenance, ruleKnowledge } from '../schema';
import { cardText, reasonFrom } from '../text';
import { outcome, type Rule } from './rule';

const ID = 'sex-basis-context';

/** This rule's data under rules.sex-basis-context in the knowledge file: its thresholds, names and words. */
export const knowledge = ruleKnowledge({
  /** Measures whose equation or threshold differs by sex. */
  measures: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true }),
  attachTo: Type.Array(Type.String(), { minItems: 1 }),
  provenance: Provenance,
});

/**
 * R0 [evidence: administrative-sex]: the eGFR equations and the low-CCR threshold are sex-specific, and the only sex
 * a FHIR Patient reliably carries is the administrative gender. When a card shows such a number, it says which sex it
 * was computed for, so a clinician who knows the patient's sex at birth or hormone therapy differs can read it with
 * care. A line on those cards; never a card of its own.
 */
export const rule: Rule = {
  id: ID,
  evaluate(ctx) {
    const r = ctx.knowledge.rules[ID];
    if (!r.enabled) return outcome.disabled(ID, ctx.knowledge);
    const sex = ctx.patient.sex;
    if (!sex) return outcome.notMet(ID, [reasonFrom(r.text, 'sex-unknown')]);
    if (!ctx.measures.some((m) => r.measures.includes(m.code)))
      return outcome.notMet(ID, [reasonFrom(r.text, 'no-sex-specific-measure')]);
    return outcome.context(ID, [cardText(r.text, 'line', { sex })], [cardText(r.text, 'brief', { sex })], r.attachTo);
  },
};
