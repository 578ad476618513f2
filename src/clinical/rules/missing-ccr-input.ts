import { type ConceptMatch, describeMatch, isOneOf, strongest } from '../codesets';
import { conditionsOf, domainText, missing } from '../context';
import { Indicator, RuleText, ruleKnowledge, Summary, SuppressingConditions } from '../schema';
import { briefFrom, cardText, reasonFrom, sharedReason, sharedText } from '../text';
import type { Finding } from '../types';
import { listOf } from './bone-care';
import { ccrConfounders } from './ccr-confounders';
import { ccrLabGap, ccrUsable } from './ccr-lab-gap';
import { outcome, type Rule } from './rule';

const ID = 'missing-ccr-input';

/** This rule's data under rules.missing-ccr-input in the knowledge file: its thresholds, names and words. */
export const knowledge = ruleKnowledge({
  indicator: Indicator,
  summaryCystatin: Summary,
  summaryCreatinine: Summary,
  summaryPair: Summary,
  suppressingConditions: SuppressingConditions,
  text: RuleText,
});

/** When half of the creatinine/cystatin C pair is on file, say what to add so the muscle signal can be read. */
export const rule: Rule = {
  id: ID,
  evaluate(ctx) {
    const k = ctx.knowledge;
    const r = k.rules[ID];
    const ccrRule = k.rules['low-ccr'];
    if (!r.enabled || !ccrRule.enabled) return outcome.disabled(ID, k);
    const age = ctx.ageNow;
    if (age === undefined || age < ccrRule.minAgeYears) {
      return outcome.notMet(ID, [reasonFrom(r.text, 'age-below-minimum', { minimum: ccrRule.minAgeYears })]);
    }
    if (missing(ctx.context, 'ccr-labs').length)
      return outcome.notMet(ID, [
        reasonFrom(r.text, 'context-unavailable', { domain: domainText(ctx.knowledge, 'ccr-labs') }),
      ]);
    if (ctx.selection.ccrPair) return outcome.notMet(ID, [reasonFrom(r.text, 'pair-present')]);
    const gap = ccrLabGap(ctx);
    if (!gap || gap.kind === 'neither')
      return outcome.notMet(ID, [reasonFrom(r.text, 'no-input', { months: k.lookbackMonths })]);
    // A new pair would be read like the CCR card reads one: if the ratio could not be used (kidney function below the
    // gate, unsteady creatinine, a confounder present), do not ask for it.
    const usable = ccrUsable(ctx);
    if (!usable.ok) return outcome.suppressed(ID, usable.reasons);
    // No new labs for a patient in hospice or palliative care, however the care is recorded (Condition, Procedure,
    // Encounter, ServiceRequest, EpisodeOfCare): the same reasons the bone cards stay quiet for.
    const care = conditionsOf(ctx.context, r.suppressingConditions, { activeOnly: true });
    if (care.length)
      return outcome.suppressed(
        ID,
        care.map((f) => {
          const m = strongest(f.matches.filter((x) => isOneOf(x, r.suppressingConditions))) as ConceptMatch;
          const found = sharedText(k, 'therapyItem', {
            medicine: f.text,
            reference: f.reference,
            match: describeMatch(m),
          });
          return sharedReason(k, m.concept.id, { condition: m.concept.display, found }, 'suppressing-condition');
        }),
      );
    const confounders = ccrConfounders(ctx, ctx.asOf.getTime());

    const summaries = { cystatin: r.summaryCystatin, creatinine: r.summaryCreatinine, apart: r.summaryPair } as const;
    const finding: Finding = {
      ruleId: ID,
      indicator: r.indicator,
      summary: summaries[gap.kind],
      statements: gap.statements,
      // The single-marker eGFRs are what the data on file does allow; they travel with the card.
      measures: ctx.measures.filter((m) => m.code === 'egfr-cr-2021' || m.code === 'egfr-cys-2012'),
      context: [],
      caveats: [
        cardText(r.text, 'caveatWhy'),
        cardText(r.text, 'caveatPairing', { hours: k.pairing.creatinineCystatinMaxHours }),
        ...(confounders.unchecked.length
          ? [
              cardText(r.text, 'caveatUnchecked', {
                unchecked: confounders.unchecked.map((d) => domainText(ctx.knowledge, d)).join(', '),
              }),
            ]
          : []),
      ],
      citations: r.citations.map((id) => k.citations[id]).filter((c) => !!c),
      suggestions: [gap.suggestion],
      brief: {
        ...briefFrom(r.text),
        found: [
          gap.found,
          ...(confounders.unchecked.length
            ? [
                sharedText(k, 'foundUnchecked', {
                  domains: listOf(
                    k,
                    confounders.unchecked.map((d) => domainText(ctx.knowledge, d)),
                  ),
                }),
              ]
            : []),
        ],
      },
    };
    return outcome.fired(ID, finding);
  },
};
