import type { LinkKnowledge } from '../knowledge';
import type { Measure, Reason } from '../types';
import type { MedicationUse } from '../medications';
import { type ConceptMatch, describeMatch, isOneOf, strongest } from '../codesets';
import { DOMAIN_TEXT, conditionsOf, missing, osteoporosisTherapy } from '../context';
import { MEASURE_DISPLAY } from '../measures';
import { day } from '../format';
import type { RuleContext } from './rule';
import { Indicator, Links, Positive, Provenance, RuleText, Summary, SuppressingConditions } from '../schema';

/** The data every bone-assessment card rule has, beside its own triggers and windows. */
export const boneCardKnowledge = {
  indicator: Indicator,
  osteoporosisTherapyWithinMonths: Positive,
  suppressingConditions: SuppressingConditions,
  provenance: Provenance,
  summary: Summary,
  links: Links,
  text: RuleText,
};

/*
 * What the three bone-assessment rules (R1 glucocorticoid, R2 endocrine therapy, R3 secondary causes) share:
 * the reasons to stay quiet because the patient is already under bone care or should not be bothered, and the
 * lines that say which context could not be checked.
 */

export interface BoneCareCheck {
  suppress: Reason[];
  caveats: string[];
}

export function boneCare(
  ctx: RuleContext,
  r: { osteoporosisTherapyWithinMonths: number; suppressingConditions: string[] },
): BoneCareCheck {
  const c = ctx.context;
  const k = ctx.knowledge;
  const suppress: Reason[] = [];
  const therapy = osteoporosisTherapy(c, k, ctx.asOf, r.osteoporosisTherapyWithinMonths);
  if (therapy.length) {
    suppress.push({
      code: 'osteoporosis-therapy',
      text: `already on osteoporosis therapy in the last ${r.osteoporosisTherapyWithinMonths} months: ${therapy.map((u) => `${u.name} (${u.reference}; ${matchText(u, k.osteoporosisTherapy)})`).join('; ')}`,
    });
  }
  if (c.boneDensityOrders.length) {
    suppress.push({
      code: 'dxa-ordered',
      text: `a DXA is already ordered: ${c.boneDensityOrders.map((o) => `${o.what} (${o.reference}, ${o.origin === 'order' ? 'in this order session' : o.status})`).join('; ')}`,
    });
  }
  const quiet = conditionsOf(c, r.suppressingConditions, { activeOnly: true });
  for (const f of quiet) {
    const m = strongest(f.matches.filter((x) => isOneOf(x, r.suppressingConditions))) as ConceptMatch;
    suppress.push({ code: m.concept.id, text: `${m.concept.display}: ${f.text} (${f.reference}; ${describeMatch(m)})` });
  }
  const caveats = missing(c, 'bone-density', 'bone-density-orders', 'osteoporosis-therapy', 'medications', 'conditions').map(
    (d) => `Could not check ${DOMAIN_TEXT[d]}: look for it before acting.`,
  );
  return { suppress, caveats };
}

export function matchText(u: MedicationUse, names: readonly string[]): string {
  const m = strongest(u.matches.filter((x) => isOneOf(x, names)));
  return m ? `recognised by ${describeMatch(m)}` : 'recognised';
}

export function lastDxaText(ctx: RuleContext, sinceMonths: number): string {
  if (missing(ctx.context, 'bone-density').length) return `DXA history could not be checked (${DOMAIN_TEXT['bone-density']} were not available).`;
  const last = ctx.context.boneDensity[0];
  return last
    ? `No DXA in the last ${sinceMonths} months; the last one on file is ${day(last.effective)} (${last.reference}).`
    : `No DXA result on file in the last ${sinceMonths} months.`;
}

export function links(ls: LinkKnowledge[]): { label: string; url: string }[] {
  return ls.map((l) => ({ label: l.label, url: l.url }));
}

/** A measure computed from medication resources, for the machine-readable contract (derivedFrom names them). */
export function medicationMeasure(code: 'prednisone-equivalent-dose' | 'glucocorticoid-exposure', value: number, unit: string, uses: MedicationUse[], formula: string, effective: string): Measure | undefined {
  const derivedFrom = [...new Set(uses.filter((u) => u.hasId).map((u) => u.reference))];
  if (!derivedFrom.length || !Number.isFinite(value)) return undefined;
  return { code, display: MEASURE_DISPLAY[code], value, unit, derivedFrom, inputs: [], formula, citations: [], effective };
}
