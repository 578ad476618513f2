import type { ContextDomain } from '../context';
import type { Reason } from '../types';
import { type ConceptMatch, describeMatch, isOneOf, strongest } from '../codesets';
import { conditionsOf, missing, usesOf } from '../context';
import { subtractMonths } from '../dates';
import { labText } from '../format';
import type { RuleContext } from './rule';

/*
 * What makes a creatinine/cystatin C ratio say something other than muscle [evidence: ccr-confounders]: drugs and
 * states that raise cystatin C or move creatinine. Shared by the CCR card, the missing-lab card and the bone cards
 * that offer the labs, so all of them agree on when a ratio can be read.
 */

const DAY_MS = 86_400_000;

export interface ConfounderCheck {
  reasons: Reason[];
  /** Context that could not be read, so these confounders were not checked. */
  unchecked: ContextDomain[];
  /** What was looked for and not found, for the card's "read with care" line. */
  checked: string[];
}

function how(m: ConceptMatch | undefined): string {
  return m ? ` (recognised by ${describeMatch(m)})` : '';
}

export function ccrConfounders(ctx: RuleContext, atMs: number): ConfounderCheck {
  const cf = ctx.knowledge.rules['low-ccr'].confounders;
  const c = ctx.context;
  const reasons: Reason[] = [];

  const gc = usesOf(c, cf.glucocorticoids, atMs, cf.glucocorticoidWithinDays).filter((u) => u.route.kind !== 'local');
  if (gc.length) {
    const list = gc.map((u) => `${u.name} (${u.reference}; ${u.route.how})${how(strongest(u.matches.filter((m) => isOneOf(m, cf.glucocorticoids))))}`);
    reasons.push({ code: 'glucocorticoid', text: `systemic glucocorticoid within ${cf.glucocorticoidWithinDays} days of the draw raises cystatin C: ${list.join('; ')}` });
  }
  const arte = usesOf(c, cf.medications, atMs, cf.medicationWithinDays);
  if (arte.length) {
    reasons.push({ code: 'creatine-or-trimethoprim', text: `creatine or a drug that blocks creatinine secretion around the draw distorts creatinine: ${arte.map((u) => `${u.name} (${u.reference})${how(strongest(u.matches.filter((m) => isOneOf(m, cf.medications))))}`).join('; ')}` });
  }

  const atDraw = (names: string[]) =>
    conditionsOf(c, names, { activeOnly: false }).filter((f) => f.active || (f.abatementMs !== undefined && f.abatementMs >= atMs));
  const named = (fs: ReturnType<typeof atDraw>, names: string[]) =>
    fs.map((f) => `${f.text} (${f.reference})${how(strongest(f.matches.filter((m) => isOneOf(m, names))))}`).join('; ');
  const thyroid = atDraw(cf.conditions.hyperthyroidism);
  if (thyroid.length) reasons.push({ code: 'hyperthyroidism', text: `hyperthyroidism raises cystatin C: ${named(thyroid, cf.conditions.hyperthyroidism)}` });
  const postpartumFrom = subtractMonths(new Date(atMs), cf.postpartumMonths).getTime();
  const pregnant = conditionsOf(c, cf.conditions.pregnancy, { activeOnly: false })
    .filter((f) => f.active || (f.abatementMs !== undefined && f.abatementMs >= postpartumFrom));
  if (pregnant.length) reasons.push({ code: 'pregnancy', text: `pregnancy or within ${cf.postpartumMonths} months after it changes GFR and creatinine: ${named(pregnant, cf.conditions.pregnancy)}` });
  // An absent limb or a paralysis does not resolve: any recorded status counts.
  const limb = conditionsOf(c, cf.conditions['amputation-or-paralysis'], { activeOnly: false });
  if (limb.length) reasons.push({ code: 'amputation-or-paralysis', text: `muscle mass is not representative after amputation or paralysis: ${named(limb, cf.conditions['amputation-or-paralysis'])}` });
  const kidney = atDraw(cf.conditions['dialysis-or-transplant']);
  if (kidney.length) reasons.push({ code: 'dialysis-or-transplant', text: `the ratio cannot be read with kidney failure, dialysis or a kidney transplant: ${named(kidney, cf.conditions['dialysis-or-transplant'])}` });

  const crp = ctx.labs.filter((l) => l.analyte === 'crp' && Math.abs(l.effectiveMs - atMs) <= cf.crpWithinDays * DAY_MS && l.value > cf.crpAboveMgL);
  if (crp.length) reasons.push({ code: 'crp-high', text: `inflammation raises cystatin C: CRP ${crp.map(labText).join(', ')} is above ${cf.crpAboveMgL} mg/L within ${cf.crpWithinDays} days of the draw` });
  const bmiSince = subtractMonths(new Date(atMs), cf.bmiWithinMonths).getTime();
  const bmi = ctx.labs.find((l) => l.analyte === 'bmi' && l.effectiveMs >= bmiSince);
  if (bmi && (bmi.value < cf.bmiBelow || bmi.value >= cf.bmiAtOrAbove)) {
    reasons.push({ code: 'bmi-extreme', text: `BMI ${labText(bmi)} is ${bmi.value < cf.bmiBelow ? `below ${cf.bmiBelow}` : `${cf.bmiAtOrAbove} or more`}: obesity raises cystatin C and cachexia lowers creatinine` });
  }

  const unchecked = missing(c, 'medications', 'conditions', 'crp', 'bmi');
  const checked = [
    ...(unchecked.includes('medications') ? [] : ['systemic glucocorticoids', 'creatine, trimethoprim and cimetidine']),
    ...(unchecked.includes('conditions') ? [] : ['hyperthyroidism', 'pregnancy', 'amputation or paralysis', 'dialysis or kidney transplant']),
    ...(unchecked.includes('crp') ? [] : [`CRP above ${cf.crpAboveMgL} mg/L`]),
    ...(unchecked.includes('bmi') ? [] : ['BMI extremes']),
  ];
  return { reasons, unchecked, checked };
}
