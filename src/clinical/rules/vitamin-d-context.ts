import { Type } from '@sinclair/typebox';
import { domainText, missing } from '../context';
import { subtractMonths } from '../dates';
import { day, labText, round, unitText } from '../format';
import { Positive, Provenance, ruleKnowledge } from '../schema';
import { cardText, reasonFrom } from '../text';
import { outcome, type Rule } from './rule';

const ID = 'vitamin-d-context';

/** This rule's data under rules.vitamin-d-context in the knowledge file: its thresholds, names and words. */
export const knowledge = ruleKnowledge({
  belowNgMl: Positive,
  withinMonths: Positive,
  attachTo: Type.Array(Type.String()),
  provenance: Provenance,
});

/** R6 [evidence: vitamin-d-threshold]: a low 25-OH vitamin D adds a line to the bone-assessment cards; it never stands alone. */
export const rule: Rule = {
  id: ID,
  evaluate(ctx) {
    const k = ctx.knowledge;
    const r = k.rules[ID];
    if (!r.enabled) return outcome.disabled(ID, k);
    if (missing(ctx.context, 'vitamin-d').length)
      return outcome.notMet(ID, [
        reasonFrom(r.text, 'context-unavailable', { domain: domainText(ctx.knowledge, 'vitamin-d') }),
      ]);
    const since = subtractMonths(ctx.asOf, r.withinMonths).getTime();
    const newest = ctx.labs.find((l) => l.analyte === 'vitamin-d' && l.effectiveMs >= since);
    if (!newest) return outcome.notMet(ID, [reasonFrom(r.text, 'missing-input', { months: r.withinMonths })]);
    if (newest.value >= r.belowNgMl) {
      return outcome.notMet(ID, [reasonFrom(r.text, 'not-low', { value: labText(newest), below: r.belowNgMl })]);
    }
    const mw = k.analytes['vitamin-d'].molecularWeight;
    const molar = mw ? cardText(r.text, 'molar', { nmol: Math.round((r.belowNgMl * 1000) / mw) }) : '';
    return outcome.context(
      ID,
      [cardText(r.text, 'line', { value: labText(newest), below: r.belowNgMl, molar, provenance: r.provenance })],
      [
        cardText(r.text, 'brief', {
          value: `${round(newest.value, newest.unit)} ${unitText(newest.unit)}`,
          date: day(newest.effective),
          below: r.belowNgMl,
        }),
      ],
      r.attachTo,
    );
  },
};
