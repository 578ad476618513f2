import type { Reason } from '../types';
import { DOMAIN_TEXT, conditionsOf, missing, usesOf } from '../context';
import { findMeasure } from '../measures';
import { day, labText, round } from '../format';
import { type Rule, outcome } from './rule';

const ID = 'homa-context';

/**
 * R5 [evidence: homa-context-line]: HOMA-IR and HOMA-β add a line of context to other findings.
 * Fu et al. 2022 is cross-sectional and imprecise, so HOMA never makes a card by itself.
 */
export const homaContextRule: Rule = {
  id: ID,
  evaluate(ctx) {
    const k = ctx.knowledge;
    const r = k.rules[ID];
    if (!r.enabled) return outcome.disabled(ID);
    const pair = ctx.selection.homaPair;
    const reasons: Reason[] = [];
    if (ctx.ageNow !== undefined && ctx.ageNow < r.adultAgeYears) reasons.push({ code: 'age-below-adult', text: `age ${ctx.ageNow} is under ${r.adultAgeYears}`, params: { age: ctx.ageNow, minimum: r.adultAgeYears } });
    if (!pair) {
      const why = ctx.selection.onlyNonFastingHoma
        ? { code: 'not-fasting', text: 'insulin and glucose were drawn together, but not fasting' }
        : { code: 'missing-input', text: `no fasting insulin and glucose from one draw in the last ${k.lookbackMonths} months` };
      return reasons.length ? outcome.suppressed(ID, [...reasons, why]) : outcome.notMet(ID, [why]);
    }
    const g = pair.glucose.value;
    if (g < r.minFastingGlucoseMmolL) reasons.push({ code: 'glucose-below-minimum', text: `fasting glucose ${round(g, 'mmol/L')} mmol/L is below ${r.minFastingGlucoseMmolL}: HOMA-β is unstable there and is not reported`, params: { value: Number(g.toFixed(2)), minimum: r.minFastingGlucoseMmolL } });
    if (g >= r.maxFastingGlucoseMmolL) reasons.push({ code: 'glucose-diabetic-range', text: `fasting glucose ${round(g, 'mmol/L')} mmol/L is ${r.maxFastingGlucoseMmolL} or more: HOMA1 was derived in the physiological range`, params: { value: Number(g.toFixed(2)), maximum: r.maxFastingGlucoseMmolL } });
    // Injected insulin is measured by the assay; secretagogues, glucocorticoids, pregnancy and type 1 diabetes move
    // insulin or glucose away from the steady state HOMA models.
    const drawMs = pair.insulin.effectiveMs;
    const drugs = usesOf(ctx.context, r.excludingMedications, drawMs, r.medicationWithinDays).filter((u) => u.route.kind !== 'local' || !u.matches.some((m) => m.concept.group === 'systemic-glucocorticoid'));
    if (drugs.length) reasons.push({ code: 'interfering-medication', text: `HOMA is not interpretable with ${drugs.map((u) => `${u.name} (${u.reference})`).join('; ')} within ${r.medicationWithinDays} days of the draw`, params: { withinDays: r.medicationWithinDays } });
    const conds = conditionsOf(ctx.context, r.excludingConditions, { activeOnly: false }).filter((f) => f.active || (f.abatementMs !== undefined && f.abatementMs >= drawMs));
    if (conds.length) reasons.push({ code: 'interfering-condition', text: `HOMA is not interpretable with ${conds.map((f) => `${f.text} (${f.reference})`).join('; ')}` });
    const unread = missing(ctx.context, 'medications', 'conditions');
    if (unread.length) reasons.push({ code: 'context-unavailable', text: `could not check ${unread.map((d) => DOMAIN_TEXT[d]).join(', ')} for insulin, secretagogues, glucocorticoids, pregnancy or type 1 diabetes` });
    const ir = findMeasure(ctx.measures, 'homa-ir');
    const beta = findMeasure(ctx.measures, 'homa-beta');
    if ((!ir || !beta) && !reasons.length) reasons.push({ code: 'not-computable', text: 'HOMA-IR or HOMA-β could not be computed' });
    if (reasons.length || !ir || !beta) return outcome.suppressed(ID, reasons);

    const highIr = ir.value >= r.irCutoff;
    const highBeta = beta.value >= r.betaCutoff;
    const values = `HOMA-IR ${round(ir.value, ir.unit)} (${highIr ? '≥' : '<'} ${r.irCutoff}) with HOMA-β ${round(beta.value, '%')}% (${highBeta ? '≥' : '<'} ${r.betaCutoff}), from fasting insulin ${labText(pair.insulin)} and glucose ${labText(pair.glucose)}, ${day(pair.glucose.effective)}`;
    const meaning = highIr && highBeta
      ? 'in NHANES this combination went with higher odds of femoral-neck osteoporosis (OR 8.77, 95% CI 2.16–35.6)'
      : !highIr && highBeta
        ? 'in NHANES HOMA-β ≥ 100 with HOMA-IR < 2 went with lower odds of femoral-neck osteoporosis (OR 0.18, 95% CI 0.04–0.88)'
        : highIr
          ? 'in NHANES the HOMA-β association was not significant when HOMA-IR ≥ 2'
          : 'this is the reference group (HOMA-IR < 2, HOMA-β < 100) in NHANES';
    return outcome.context(ID, [`${values}; ${meaning} (Fu et al. 2022, cross-sectional; context only).`], [], r.attachTo);
  },
};
