import { Type } from '@sinclair/typebox';
import { conditionsOf, domainText, heldAt, missing, usesOf } from '../context';
import { day, labText, round } from '../format';
import { findMeasure } from '../measures';
import { AdultAge, ConditionNames, MedicationNames, Positive, Provenance, ruleKnowledge } from '../schema';
import { cardText, reasonFrom } from '../text';
import type { Reason } from '../types';
import { outcome, type Rule } from './rule';

const ID = 'homa-context';

/** This rule's data under rules.homa-context in the knowledge file: its thresholds, names and words. */
export const knowledge = ruleKnowledge({
  irCutoff: Positive,
  betaCutoff: Positive,
  minFastingGlucoseMmolL: Type.Number({ exclusiveMinimum: 3.5 }),
  maxFastingGlucoseMmolL: Type.Number({ exclusiveMinimum: 3.5 }),
  adultAgeYears: AdultAge,
  /** Medicines (code-set names) that make HOMA uninterpretable when taken within medicationWithinDays of the draw. */
  excludingMedications: MedicationNames,
  excludingConditions: ConditionNames,
  medicationWithinDays: Positive,
  /** The finding rules whose cards may carry the HOMA line. */
  attachTo: Type.Array(Type.String(), { minItems: 1 }),
  provenance: Provenance,
});

/**
 * R5 [evidence: homa-context-line]: HOMA-IR and HOMA-β add a line of context to other findings.
 * Fu et al. 2022 is cross-sectional and imprecise, so HOMA never makes a card by itself.
 */
export const rule: Rule = {
  id: ID,
  evaluate(ctx) {
    const k = ctx.knowledge;
    const r = k.rules[ID];
    if (!r.enabled) return outcome.disabled(ID, k);
    const pair = ctx.selection.homaPair;
    const say = (code: string, params?: Record<string, string | number>) => reasonFrom(r.text, code, params);
    const reasons: Reason[] = [];
    if (ctx.ageNow !== undefined && ctx.ageNow < r.adultAgeYears)
      reasons.push(say('age-below-adult', { age: ctx.ageNow, minimum: r.adultAgeYears }));
    if (!pair) {
      const why = ctx.selection.onlyNonFastingHoma
        ? say('not-fasting')
        : say('missing-input', { months: k.lookbackMonths });
      return reasons.length ? outcome.suppressed(ID, [...reasons, why]) : outcome.notMet(ID, [why]);
    }
    const g = pair.glucose.value;
    const glucose = round(g, 'mmol/L');
    // The words show the glucose as the card rounds it; the parameters keep the number for machines.
    if (g < r.minFastingGlucoseMmolL)
      reasons.push({
        ...say('glucose-below-minimum', { glucose, minimum: r.minFastingGlucoseMmolL }),
        params: { value: Number(g.toFixed(2)), minimum: r.minFastingGlucoseMmolL },
      });
    if (g >= r.maxFastingGlucoseMmolL)
      reasons.push({
        ...say('glucose-diabetic-range', { glucose, maximum: r.maxFastingGlucoseMmolL }),
        params: { value: Number(g.toFixed(2)), maximum: r.maxFastingGlucoseMmolL },
      });
    // Injected insulin is measured by the assay; secretagogues, glucocorticoids, pregnancy and type 1 diabetes move
    // insulin or glucose away from the steady state HOMA models.
    const drawMs = pair.insulin.effectiveMs;
    // A prescription still active (or on hold) at the draw counts whatever its supply arithmetic says: insulin is
    // taken for years on refills the record does not show, and here a use only quiets the line.
    const stillActive = usesOf(ctx.context, r.excludingMedications, drawMs, Number.POSITIVE_INFINITY).filter(
      (u) => (u.status === 'active' || u.status === 'on-hold') && (!u.period.ok || u.period.value.startMs <= drawMs),
    );
    const drugs = [
      ...new Set([...usesOf(ctx.context, r.excludingMedications, drawMs, r.medicationWithinDays), ...stillActive]),
    ].filter((u) => u.route.kind !== 'local' || !u.matches.some((m) => m.concept.group === 'systemic-glucocorticoid'));
    if (drugs.length) {
      const reason = say('interfering-medication', {
        medicines: drugs.map((u) => `${u.name} (${u.reference})`).join('; '),
        withinDays: r.medicationWithinDays,
      });
      reasons.push({ ...reason, params: { withinDays: r.medicationWithinDays } });
    }
    const conds = conditionsOf(ctx.context, r.excludingConditions, { activeOnly: false, observed: true }).filter((f) =>
      heldAt(f, drawMs),
    );
    // Names and references stay out of params: they belong to the patient, the params to the rule.
    if (conds.length)
      reasons.push({
        code: 'interfering-condition',
        text: say('interfering-condition', { conditions: conds.map((f) => `${f.text} (${f.reference})`).join('; ') })
          .text,
      });
    const unread = missing(ctx.context, 'medications', 'conditions');
    if (unread.length)
      reasons.push({
        code: 'context-unavailable',
        text: say('context-unavailable', { unchecked: unread.map((d) => domainText(ctx.knowledge, d)).join(', ') })
          .text,
      });
    const ir = findMeasure(ctx.measures, 'homa-ir');
    const beta = findMeasure(ctx.measures, 'homa-beta');
    if ((!ir || !beta) && !reasons.length) reasons.push(say('not-computable'));
    if (reasons.length || !ir || !beta) return outcome.suppressed(ID, reasons);

    const highIr = ir.value >= r.irCutoff;
    const highBeta = beta.value >= r.betaCutoff;
    // The NHANES sentences name the study's own cut-offs (2 and 100), not the site's: they report what it found.
    const meaning = cardText(
      r.text,
      highIr && highBeta ? 'highBoth' : !highIr && highBeta ? 'highBetaOnly' : highIr ? 'highIrOnly' : 'neither',
    );
    const line = cardText(r.text, 'line', {
      ir: round(ir.value, ir.unit),
      irSide: highIr ? '≥' : '<',
      irCutoff: r.irCutoff,
      beta: round(beta.value, '%'),
      betaSide: highBeta ? '≥' : '<',
      betaCutoff: r.betaCutoff,
      insulin: labText(pair.insulin),
      glucose: labText(pair.glucose),
      date: day(pair.glucose.effective),
      meaning,
    });
    // The label follows the value: "insulin resistance" only at or above the cut-off.
    const brief = cardText(r.text, highIr ? 'briefHighIr' : 'brief', {
      ir: round(ir.value, ir.unit),
      beta: round(beta.value, '%'),
      date: day(pair.glucose.effective),
    });
    return outcome.context(ID, [line], [brief], r.attachTo);
  },
};
