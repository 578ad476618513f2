import { Type } from '@sinclair/typebox';
import { type ConceptMatch, describeMatch, type FraxInput, isOneOf, strongest } from '../codesets';
import { conditionsOf, domainText, dxaSince, missing, usesOf } from '../context';
import { subtractMonths } from '../dates';
import { AdultAge, ConditionNames, MedicationNames, Positive, ruleKnowledge } from '../schema';
import { briefFrom, cardText, reasonFrom, sharedText, type TextParams } from '../text';
import type { OrderSuggestion } from '../types';
import { boneCardKnowledge, boneCare, foundDxa, lastDxaText, links, listOf, matchText } from './bone-care';
import { outcome, type Rule } from './rule';

const ID = 'secondary-osteoporosis';

/** This rule's data under rules.secondary-osteoporosis in the knowledge file: its thresholds, names and words. */
export const knowledge = ruleKnowledge({
  ...boneCardKnowledge,
  conditions: ConditionNames,
  fractures: ConditionNames,
  contributing: MedicationNames,
  minAgeYears: AdultAge,
  dxaWithinMonths: Positive,
});

/**
 * R3 [evidence: secondary-osteoporosis-card]: a FRAX secondary-osteoporosis condition at age 50 or more (any age after a fragility
 * fracture) and no DXA in 24 months → info card suggesting FRAX/DXA. Proton-pump inhibitors and enzyme-inducing
 * antiepileptics are named as contributing factors only.
 */
export const rule: Rule = {
  id: ID,
  evaluate(ctx) {
    const k = ctx.knowledge;
    const r = k.rules[ID];
    if (!r.enabled) return outcome.disabled(ID, k);
    const c = ctx.context;
    const say = (code: string, params?: Record<string, string | number>, key?: string) =>
      reasonFrom(r.text, code, params, key);
    if (missing(c, 'conditions').length)
      return outcome.notMet(ID, [say('context-unavailable', { domain: domainText(ctx.knowledge, 'conditions') })]);
    const found = conditionsOf(c, r.conditions, { activeOnly: true, role: 'trigger' });
    if (!found.length) return outcome.notMet(ID, [say('no-condition')]);
    const trusted = found.filter((f) => strongest(f.matches.filter((m) => isOneOf(m, r.conditions)))?.verified);
    if (!trusted.length) {
      return outcome.notMet(ID, [say('unverified-code', { conditions: found.map((f) => f.text).join('; ') })]);
    }
    const fractures = conditionsOf(c, r.fractures, { activeOnly: true, role: 'trigger' });
    const age = ctx.ageNow;
    if (!fractures.length && (age === undefined || age < r.minAgeYears)) {
      return outcome.notMet(ID, [
        age === undefined
          ? say('age-below-minimum', { minimum: r.minAgeYears }, 'age-unknown')
          : say('age-below-minimum', { age, minimum: r.minAgeYears }),
      ]);
    }
    const dxa = dxaSince(c, subtractMonths(ctx.asOf, r.dxaWithinMonths).getTime());
    if (dxa)
      return outcome.notMet(ID, [
        say('recent-dxa', { date: dxa.effective.slice(0, 10), reference: dxa.reference, months: r.dxaWithinMonths }),
      ]);
    const care = boneCare(ctx, r);
    if (care.suppress.length) return outcome.suppressed(ID, care.suppress);

    const card = (key: string, params?: TextParams) => cardText(r.text, key, params);
    const line = (f: (typeof trusted)[number], names: string[]) => {
      const m = strongest(f.matches.filter((x) => isOneOf(x, names)));
      const match = m ? describeMatch(m) : sharedText(k, 'recognised');
      return f.clinicalStatus
        ? card('itemWithStatus', { text: f.text, reference: f.reference, status: f.clinicalStatus, match })
        : card('item', { text: f.text, reference: f.reference, match });
    };
    const contributing = usesOf(c, r.contributing, ctx.asOf.getTime(), 90);
    // Only the DXA its sources support: nothing about a secondary cause of osteoporosis needs cystatin C.
    const suggestions: OrderSuggestion[] = [{ label: card('suggestDxa'), orders: [k.orders.dxa] }];
    const frax = fraxLines(
      [
        ...trusted.map((f) => ({ text: f.text, input: fraxInputOf(f, r.conditions) })),
        ...fractures.map((f) => ({ text: f.text, input: fraxInputOf(f, r.fractures) })),
      ],
      (key, params) => card(key, params),
      k,
    );
    const conditionList = trusted.map((f) => `${f.text} (${f.reference})`).join('; ');
    return outcome.fired(ID, {
      ruleId: ID,
      indicator: r.indicator,
      summary: r.summary,
      statements: [
        card(trusted.length > 1 ? 'conditions' : 'condition', {
          conditions: trusted.map((f) => line(f, r.conditions)).join('; '),
        }),
        fractures.length
          ? card('fracture', { fractures: fractures.map((f) => line(f, r.fractures)).join('; ') })
          : card('age', { age: age as number, minimum: r.minAgeYears }),
        lastDxaText(ctx, r.dxaWithinMonths),
        ...(contributing.length
          ? [
              card('contributing', {
                medicines: contributing
                  .map((u) =>
                    sharedText(k, 'therapyItem', {
                      medicine: u.name,
                      reference: u.reference,
                      match: matchText(u, r.contributing, k),
                    }),
                  )
                  .join('; '),
              }),
            ]
          : []),
      ],
      measures: [],
      context: [],
      caveats: [...frax.caveats, ...care.caveats],
      citations: r.citations.map((id) => k.citations[id]).filter((x) => !!x),
      suggestions,
      links: links(r.links),
      brief: {
        ...briefFrom(r.text),
        unchecked: [...(care.uncheckedLine ? [care.uncheckedLine] : []), ...care.overdueLines],
        found: [
          card('found', {
            conditions: listOf(
              k,
              trusted.map((f) => f.text),
            ),
          }),
          ...(care.uncheckedLine ? [care.uncheckedLine] : []),
          ...care.overdueLines,
          ...(fractures.length ? [card('foundFracture')] : []),
          foundDxa(ctx, r.dxaWithinMonths),
          ...(contributing.length
            ? [
                card('foundContributing', {
                  medicines: listOf(
                    k,
                    contributing.map((u) => u.name),
                  ),
                }),
              ]
            : []),
          ...frax.found,
        ],
        then: [sharedText(k, 'calculateFrax')],
      },
      carryOverBrief: card(fractures.length ? 'carryOverBriefWithFracture' : 'carryOverBrief', {
        conditions: listOf(
          k,
          trusted.map((f) => f.text),
        ),
      }),
      carryOver: fractures.length
        ? card('carryOverWithFracture', {
            conditions: conditionList,
            fractures: fractures.map((f) => f.reference).join(', '),
          })
        : card('carryOver', { conditions: conditionList }),
    });
  },
};

/** The FRAX input of the concept a condition was recognised as (its strongest match among `names`). */
function fraxInputOf(f: { matches: ConceptMatch[] }, names: string[]): FraxInput {
  return strongest(f.matches.filter((m) => isOneOf(m, names)))?.concept.fraxInput ?? 'none';
}

/**
 * What FRAX does with each condition, from the concept's `fraxInput` [evidence: frax-inputs]: its own input, its
 * "secondary osteoporosis" input (ignored once femoral neck BMD is entered), or none (FRAX may underestimate).
 * The card never says FRAX counts a cause it does not take.
 */
function fraxLines(
  items: { text: string; input: FraxInput }[],
  card: (key: string, params?: TextParams) => string,
  k: Parameters<typeof listOf>[0],
): { caveats: string[]; found: string[] } {
  const caveats: string[] = [];
  const found: string[] = [];
  for (const input of [
    'rheumatoid-arthritis',
    'secondary-osteoporosis',
    'glucocorticoids',
    'prior-fracture',
    'none',
  ] as const) {
    const of = [...new Set(items.filter((i) => i.input === input).map((i) => i.text))];
    if (!of.length) continue;
    caveats.push(card(`frax-${input}`, { conditions: listOf(k, of) }));
    if (input === 'none') found.push(card('foundFraxNone', { conditions: listOf(k, of) }));
  }
  return { caveats, found };
}
