import { Type } from '@sinclair/typebox';
import { decides } from '../bounds';
import { type ConceptMatch, describeMatch, isOneOf, strongest } from '../codesets';
import { CONTEXT_DOMAINS, type ContextDomain, conditionsOf, heldAt, missing, usesOf } from '../context';
import { DAY_MS, subtractMonths } from '../dates';
import { labText, significant } from '../format';
import type { Knowledge } from '../knowledge';
import { ConditionNames, MedicationNames, NonNegative, Positive, Provenance } from '../schema';
import { cardText, reasonFrom, sharedText } from '../text';
import type { Reason, RejectedObservation } from '../types';
import { listOf } from './bone-care';

export { decides };

import type { RuleContext } from './rule';

/** What distorts the creatinine/cystatin C ratio [evidence: ccr-confounders]: rules.low-ccr.confounders. */
export const CcrConfounders = Type.Object(
  {
    glucocorticoidWithinDays: Positive,
    glucocorticoids: MedicationNames,
    /** The four named groups have their own timing rules; any further group suppresses while its condition is current at the draw. */
    conditions: Type.Object(
      {
        hyperthyroidism: ConditionNames,
        pregnancy: ConditionNames,
        'amputation-or-paralysis': ConditionNames,
        'dialysis-or-transplant': ConditionNames,
      },
      { additionalProperties: ConditionNames },
    ),
    postpartumMonths: NonNegative,
    crpAboveMgL: Positive,
    crpWithinDays: Positive,
    bmiBelow: Positive,
    bmiAtOrAbove: Positive,
    bmiWithinMonths: Positive,
    medications: MedicationNames,
    medicationWithinDays: Positive,
    provenance: Provenance,
    /**
     * Context that is a second source of confounders another domain records (TSH and free T4 results beside a
     * recorded hyperthyroidism; pregnancy tests beside a recorded pregnancy), each naming that primary domain. While
     * its primary is known, a second source that could not be read (not sent, or unreadable) leaves the card shown
     * with a "could not be checked" line; every other confounder domain must be known before a ratio is shown.
     */
    secondarySources: Type.Partial(
      Type.Record(
        Type.Union(CONTEXT_DOMAINS.map((d) => Type.Literal(d))),
        Type.Union(CONTEXT_DOMAINS.map((d) => Type.Literal(d))),
      ),
      { additionalProperties: false, description: 'second-source domain → the primary domain it complements' },
    ),
    /** A CRP or BMI on file that cannot be read (undecided comparator, unknown unit) suppresses the card. */
    uncheckedSuppresses: Type.Boolean({
      description:
        'true: a confounder result that exists but cannot be read (comparator not decisive, unknown unit) suppresses the card',
    }),
  },
  { additionalProperties: false },
);

/*
 * What makes a creatinine/cystatin C ratio say something other than muscle [evidence: ccr-confounders]: drugs and
 * states that raise cystatin C or move creatinine. Shared by the CCR card, the missing-lab card and the bone cards
 * that offer the labs, so all of them agree on when a ratio can be read.
 */

export interface ConfounderCheck {
  reasons: Reason[];
  /** Context that could not be read, so these confounders were not checked. */
  unchecked: ContextDomain[];
  /**
   * Of those, the ones that must be known before a ratio is shown: every unchecked domain but a second source whose
   * primary domain was read (rules.low-ccr.confounders.secondarySources).
   */
  suppressing: ContextDomain[];
  /** Results on file that could not be read (a bound that does not decide, an unknown unit): checks that did not happen. */
  unreadable: Reason[];
  /** What was looked for and not found, for the card's "read with care" line. */
  checked: string[];
  /** What could not be looked for because no result is on file (no CRP near the draw): not checked, not absent. */
  notOnFile: string[];
}

function how(m: ConceptMatch | undefined, k: Knowledge): string {
  return m ? ` (${sharedText(k, 'recognisedBy', { match: describeMatch(m) })})` : '';
}

export function ccrConfounders(ctx: RuleContext, atMs: number): ConfounderCheck {
  const cf = ctx.knowledge.rules['low-ccr'].confounders;
  // The words live with the CCR rule's: every card that reads a ratio says the same about what distorts it.
  const text = ctx.knowledge.rules['low-ccr'].text;
  const say = (code: string, values: Record<string, string | number>, key?: string) =>
    reasonFrom(text, code, values, key);
  const c = ctx.context;
  const reasons: Reason[] = [];

  const gc = usesOf(c, cf.glucocorticoids, atMs, cf.glucocorticoidWithinDays).filter((u) => u.route.kind !== 'local');
  if (gc.length) {
    const list = gc.map(
      (u) =>
        `${u.name} (${u.reference}; ${u.route.how})${how(strongest(u.matches.filter((m) => isOneOf(m, cf.glucocorticoids))), ctx.knowledge)}`,
    );
    reasons.push(say('glucocorticoid', { days: cf.glucocorticoidWithinDays, medicines: list.join('; ') }));
  }
  const arte = usesOf(c, cf.medications, atMs, cf.medicationWithinDays);
  if (arte.length) {
    const medicines = arte
      .map(
        (u) =>
          `${u.name} (${u.reference})${how(strongest(u.matches.filter((m) => isOneOf(m, cf.medications))), ctx.knowledge)}`,
      )
      .join('; ');
    reasons.push(say('creatine-or-trimethoprim', { medicines }));
  }

  // States a result shows (thyrotoxicosis by TSH and free T4, a pregnancy status) count like recorded ones here.
  const atDraw = (names: string[]) =>
    conditionsOf(c, names, { activeOnly: false, observed: true }).filter((f) => heldAt(f, atMs));
  const named = (fs: ReturnType<typeof atDraw>, names: string[]) =>
    fs
      .map(
        (f) => `${f.text} (${f.reference})${how(strongest(f.matches.filter((m) => isOneOf(m, names))), ctx.knowledge)}`,
      )
      .join('; ');
  const thyroid = atDraw(cf.conditions.hyperthyroidism);
  if (thyroid.length)
    reasons.push(say('hyperthyroidism', { conditions: named(thyroid, cf.conditions.hyperthyroidism) }));
  const postpartumFrom = subtractMonths(new Date(atMs), cf.postpartumMonths).getTime();
  const pregnant = conditionsOf(c, cf.conditions.pregnancy, { activeOnly: false, observed: true }).filter((f) =>
    heldAt(f, atMs, atMs - postpartumFrom),
  );
  if (pregnant.length)
    reasons.push(
      say('pregnancy', { months: cf.postpartumMonths, conditions: named(pregnant, cf.conditions.pregnancy) }),
    );
  // An absent limb or a paralysis does not resolve: any recorded status counts.
  const limb = conditionsOf(c, cf.conditions['amputation-or-paralysis'], { activeOnly: false });
  if (limb.length)
    reasons.push(say('amputation-or-paralysis', { conditions: named(limb, cf.conditions['amputation-or-paralysis']) }));
  const kidney = atDraw(cf.conditions['dialysis-or-transplant']);
  if (kidney.length)
    reasons.push(say('dialysis-or-transplant', { conditions: named(kidney, cf.conditions['dialysis-or-transplant']) }));
  // Further groups (cirrhosis, advanced CKD, AKI, neuromuscular disease, cachexia…): current at the draw.
  const otherGroups: string[] = [];
  for (const [group, names] of Object.entries(cf.conditions)) {
    if (SPECIAL.has(group)) continue;
    const found = atDraw(names);
    const label = names
      .map((n) => ctx.knowledge.codesets.conditions.concepts.find((x) => x.id === n)?.display ?? n)
      .join(', ');
    otherGroups.push(label);
    if (found.length)
      reasons.push({
        ...say(group, { label, conditions: named(found, names) }, 'condition-group'),
        params: { condition: group },
      });
  }

  const unreadable: Reason[] = [];
  const near = (ms: number | undefined) => ms !== undefined && Math.abs(ms - atMs) <= cf.crpWithinDays * DAY_MS;
  const crp = ctx.labs.filter((l) => l.analyte === 'crp' && near(l.effectiveMs) && l.value > cf.crpAboveMgL);
  const crpHigh = (v: number) => v > cf.crpAboveMgL;
  const crpBounds = ctx.rejected.filter((r) => r.analyte === 'crp' && r.unreadable && near(r.effectiveMs));
  const crpByBound = crpBounds.filter((r) => decides(r, crpHigh, [cf.crpAboveMgL]) === true);
  if (crp.length || crpByBound.length) {
    const shown = [...crp.map(labText), ...crpByBound.map((b) => boundText(b, ctx.knowledge))];
    reasons.push(say('crp-high', { values: shown.join(', '), above: cf.crpAboveMgL, withinDays: cf.crpWithinDays }));
  } else {
    for (const r of crpBounds.filter((x) => decides(x, crpHigh, [cf.crpAboveMgL]) === undefined)) {
      const words = say('crp-unreadable', {
        reference: r.reference,
        withinDays: cf.crpWithinDays,
        above: cf.crpAboveMgL,
        why: r.reason,
      });
      unreadable.push({ ...words, params: { reference: r.reference } });
    }
  }
  const bmiSince = subtractMonths(new Date(atMs), cf.bmiWithinMonths).getTime();
  const bmiExtreme = (v: number) => v < cf.bmiBelow || v >= cf.bmiAtOrAbove;
  const bmi = ctx.labs.find((l) => l.analyte === 'bmi' && l.effectiveMs >= bmiSince);
  const bmiBad = ctx.rejected.filter(
    (r) =>
      r.analyte === 'bmi' &&
      r.unreadable &&
      r.effectiveMs !== undefined &&
      r.effectiveMs >= bmiSince &&
      r.effectiveMs <= atMs + DAY_MS,
  );
  // The newest BMI speaks; a newer one that cannot be read leaves the question open.
  const newerBad = bmiBad.filter((r) => !bmi || (r.effectiveMs ?? 0) > bmi.effectiveMs);
  const byBound = newerBad.find((r) => decides(r, bmiExtreme, [cf.bmiBelow, cf.bmiAtOrAbove]) === true);
  if (bmi && bmiExtreme(bmi.value) && !newerBad.length) {
    const words = say(
      'bmi-extreme',
      { value: labText(bmi), below: cf.bmiBelow, atOrAbove: cf.bmiAtOrAbove },
      bmi.value < cf.bmiBelow ? 'bmi-extreme-low' : 'bmi-extreme-high',
    );
    reasons.push({ ...words, params: { below: cf.bmiBelow, atOrAbove: cf.bmiAtOrAbove } });
  } else if (byBound) {
    reasons.push(
      say(
        'bmi-extreme',
        { value: boundText(byBound, ctx.knowledge), below: cf.bmiBelow, atOrAbove: cf.bmiAtOrAbove },
        'bmi-extreme-bound',
      ),
    );
  } else {
    for (const r of newerBad.filter((x) => decides(x, bmiExtreme, [cf.bmiBelow, cf.bmiAtOrAbove]) !== false)) {
      const words = say('bmi-unreadable', {
        reference: r.reference,
        below: cf.bmiBelow,
        atOrAbove: cf.bmiAtOrAbove,
        why: r.reason,
      });
      unreadable.push({ ...words, params: { reference: r.reference } });
    }
  }

  const word = (key: string, params?: Record<string, string | number>) => cardText(text, key, params);
  const crpNear = [...ctx.labs, ...ctx.rejected].filter(
    (l) => l.analyte === 'crp' && !('otherPatient' in l && l.otherPatient) && near(l.effectiveMs),
  );
  const bmiOnFile = !!bmi || bmiBad.length > 0;
  const observedChecks = labStateChecks(ctx, atMs, Object.values(cf.conditions).flat(), word);
  const unchecked = missing(c, 'medications', 'conditions', 'crp', 'bmi', 'thyroid-labs', 'pregnancy-tests');
  const checked = [
    ...(unchecked.includes('medications') ? [] : [word('checkedGlucocorticoids'), word('checkedCreatinineDrugs')]),
    ...(unchecked.includes('conditions')
      ? []
      : [
          word('checkedHyperthyroidism'),
          word('checkedPregnancy'),
          word('checkedAmputation'),
          word('checkedKidney'),
          ...otherGroups,
        ]),
    // A threshold is checked only against a result: with none on file the line says so instead (three-valued).
    ...(unchecked.includes('crp') || unreadable.some((u) => u.code === 'crp-unreadable') || !crpNear.length
      ? []
      : [word('checkedCrp', { above: cf.crpAboveMgL })]),
    ...(unchecked.includes('bmi') || unreadable.some((u) => u.code === 'bmi-unreadable') || !bmiOnFile
      ? []
      : [word('checkedBmi')]),
    ...observedChecks.checked,
  ];
  const notOnFile = [
    ...(!unchecked.includes('crp') && !crpNear.length ? [word('notOnFileCrp', { withinDays: cf.crpWithinDays })] : []),
    ...(!unchecked.includes('bmi') && !bmiOnFile ? [word('notOnFileBmi', { months: cf.bmiWithinMonths })] : []),
    ...observedChecks.notOnFile,
  ];
  const suppressing = unchecked.filter((d) => {
    const primary = (cf.secondarySources as Partial<Record<ContextDomain, ContextDomain>>)[d];
    return !primary || unchecked.includes(primary) || missing(c, primary).length > 0;
  });
  return { reasons, unchecked, suppressing, unreadable, checked, notOnFile };
}

/**
 * For each state the knowledge lets results show (thyrotoxicosis by TSH and free T4) and this check asks about: with
 * such results near the draw it was checked; with none on file it was not, and the card says so.
 */
function labStateChecks(
  ctx: RuleContext,
  atMs: number,
  names: string[],
  word: (key: string, params?: Record<string, string | number>) => string,
): { checked: string[]; notOnFile: string[] } {
  const k = ctx.knowledge;
  const out = { checked: [] as string[], notOnFile: [] as string[] };
  if (missing(ctx.context, 'thyroid-labs').length) return out;
  for (const f of k.observedConditions.facts) {
    if (f.kind !== 'labs' || !f.concepts.some((n) => names.includes(n))) continue;
    const analytes = [...new Set(f.anyOf.flat().map((c) => c.analyte))];
    // A result shows the state from holdsDaysBefore before it to holdsDaysAfter after it: the results that could
    // speak for the draw are those dated within that window around it.
    const from = atMs - f.holdsDaysAfter * DAY_MS;
    const to = atMs + f.holdsDaysBefore * DAY_MS;
    // A bound (`<0.01`) is a result that was checked, as a value is.
    const near = [...ctx.labs, ...ctx.rejected.filter((r) => r.bound && !r.otherPatient)].some(
      (l) =>
        !!l.analyte &&
        analytes.includes(l.analyte) &&
        l.effectiveMs !== undefined &&
        l.effectiveMs >= from &&
        l.effectiveMs <= to,
    );
    const what = listOf(
      k,
      analytes.map((a) => k.analytes[a].display.replace(/\s*\(.*\)$/, '')),
    );
    const state = f.concepts
      .map((n) => k.codesets.conditions.concepts.find((x) => x.id === n)?.display ?? n)
      .join(', ');
    if (near) out.checked.push(word('checkedLabState', { analytes: what, state }));
    else out.notOnFile.push(word('notOnFileLabState', { analytes: what, state, days: f.holdsDaysBefore }));
  }
  return out;
}

const SPECIAL = new Set(['hyperthyroidism', 'pregnancy', 'amputation-or-paralysis', 'dialysis-or-transplant']);

function boundText(r: RejectedObservation, k: Knowledge): string {
  const b = r.bound as NonNullable<RejectedObservation['bound']>;
  return sharedText(k, 'bound', {
    value: `${b.comparator}${significant(b.value, 4)} ${b.unit}`,
    date: r.effective ? r.effective.slice(0, 10) : sharedText(k, 'undated'),
    reference: r.reference,
  });
}
