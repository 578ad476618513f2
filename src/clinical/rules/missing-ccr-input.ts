import type { Finding } from '../types';
import { labText } from '../format';
import { type Rule, outcome } from './rule';

const ID = 'missing-ccr-input';

/** When half of the creatinine/cystatin C pair is on file, say what to add so the muscle signal can be read. */
export const missingCcrInputRule: Rule = {
  id: ID,
  evaluate(ctx) {
    const k = ctx.knowledge;
    const r = k.rules[ID];
    const ccrRule = k.rules['low-ccr'];
    if (!r.enabled || !ccrRule.enabled) return outcome.disabled(ID);
    const age = ctx.ageNow;
    if (age === undefined || age < ccrRule.minAgeYears) {
      return outcome.notMet(ID, [{ code: 'age-below-minimum', text: `the muscle signal applies from age ${ccrRule.minAgeYears}` }]);
    }
    if (ctx.selection.ccrPair) return outcome.notMet(ID, [{ code: 'pair-present', text: 'creatinine and cystatin C from one draw are on file' }]);
    const creat = ctx.selection.inWindow.creatinine[0];
    const cys = ctx.selection.inWindow['cystatin-c'][0];
    const window = `in the last ${k.lookbackMonths} months`;
    // The single-marker eGFRs are what the data on file does allow; they travel with the card.
    const base: Omit<Finding, 'summary' | 'statements' | 'suggestions'> = {
      ruleId: ID,
      indicator: r.indicator,
      measures: ctx.measures.filter((m) => m.code === 'egfr-cr-2021' || m.code === 'egfr-cys-2012'),
      context: [],
      caveats: [
        'Creatinine alone reflects both kidney function and muscle mass; cystatin C from the same draw separates them (CCR, eGFRcr-cys).',
        `Creatinine and cystatin C count as one draw when they are at most ${k.pairing.creatinineCystatinMaxHours} h apart.`,
      ],
      citations: r.citations.map((id) => k.citations[id]).filter((c) => !!c),
    };
    if (creat && !cys) {
      return outcome.fired(ID, {
        ...base,
        summary: r.summaryCystatin,
        statements: [`Newest creatinine ${window}: ${labText(creat)}.`, `No cystatin C ${window}.`],
        suggestions: [{ label: 'Order cystatin C (serum)', orders: [k.orders['cystatin-c']] }],
      });
    }
    if (cys && !creat) {
      return outcome.fired(ID, {
        ...base,
        summary: r.summaryCreatinine,
        statements: [`Newest cystatin C ${window}: ${labText(cys)}.`, `No creatinine ${window}.`],
        suggestions: [{ label: 'Order creatinine (serum)', orders: [k.orders.creatinine] }],
      });
    }
    if (creat && cys) {
      return outcome.fired(ID, {
        ...base,
        summary: r.summaryPair,
        statements: [`Newest creatinine ${window}: ${labText(creat)}.`, `Newest cystatin C ${window}: ${labText(cys)}.`, 'They were not drawn together.'],
        suggestions: [{ label: 'Order creatinine and cystatin C on one draw', orders: [k.orders.creatinine, k.orders['cystatin-c']] }],
      });
    }
    return outcome.notMet(ID, [{ code: 'no-input', text: `neither creatinine nor cystatin C ${window}` }]);
  },
};
