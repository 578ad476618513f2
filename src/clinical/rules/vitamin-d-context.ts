import { DOMAIN_TEXT, missing } from '../context';
import { subtractMonths } from '../dates';
import { labText } from '../format';
import { type Rule, outcome } from './rule';

const ID = 'vitamin-d-context';

/** R6 [evidence: vitamin-d-threshold]: a low 25-OH vitamin D adds a line to the bone-assessment cards; it never stands alone. */
export const vitaminDContextRule: Rule = {
  id: ID,
  evaluate(ctx) {
    const k = ctx.knowledge;
    const r = k.rules[ID];
    if (!r.enabled) return outcome.disabled(ID);
    if (missing(ctx.context, 'vitamin-d').length) return outcome.notMet(ID, [{ code: 'context-unavailable', text: `${DOMAIN_TEXT['vitamin-d']} could not be read` }]);
    const since = subtractMonths(ctx.asOf, r.withinMonths).getTime();
    const newest = ctx.labs.find((l) => l.analyte === 'vitamin-d' && l.effectiveMs >= since);
    if (!newest) return outcome.notMet(ID, [{ code: 'missing-input', text: `no 25-OH vitamin D in the last ${r.withinMonths} months` }]);
    if (newest.value >= r.belowNgMl) {
      return outcome.notMet(ID, [{ code: 'not-low', text: `25-OH vitamin D ${labText(newest)} is not below ${r.belowNgMl} ng/mL` }]);
    }
    const mw = k.analytes['vitamin-d'].molecularWeight;
    const molar = mw ? ` (${Math.round((r.belowNgMl * 1000) / mw)} nmol/L)` : '';
    return outcome.context(
      ID,
      [`25-OH vitamin D ${labText(newest)} is below ${r.belowNgMl} ng/mL${molar}: replete before or alongside bone treatment (informational; thresholds differ: ${r.provenance}).`],
      [],
      r.attachTo,
    );
  },
};
