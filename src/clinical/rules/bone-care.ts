import { type ConceptMatch, describeMatch, isOneOf, strongest } from '../codesets';
import { conditionsOf, domainText, missing, osteoporosisTherapyStatus } from '../context';
import { day } from '../format';
import type { Knowledge, LinkKnowledge } from '../knowledge';
import { MEASURE_DISPLAY } from '../measures';
import type { MedicationUse } from '../medications';
import { Indicator, Links, Positive, Provenance, RuleText, Summary, SuppressingConditions } from '../schema';
import { sharedReason, sharedText } from '../text';
import type { Measure, Reason } from '../types';
import type { RuleContext } from './rule';

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
  /** The card's line naming what could not be checked, when anything could not. */
  uncheckedLine?: string;
  /** Lines for a long-interval medicine past due ("denosumab overdue since …"): never cut from the card. */
  overdueLines: string[];
}

export function boneCare(
  ctx: RuleContext,
  r: { osteoporosisTherapyWithinMonths: number; suppressingConditions: string[] },
): BoneCareCheck {
  const c = ctx.context;
  const k = ctx.knowledge;
  const suppress: Reason[] = [];
  const status = osteoporosisTherapyStatus(c, k, ctx.asOf, r.osteoporosisTherapyWithinMonths);
  const therapy = status.current;
  const overdueLines = therapy.length
    ? []
    : status.overdue.map((o) =>
        sharedText(k, 'foundTherapyOverdue', {
          medicine: o.use.name,
          since: day(new Date(o.overdueSinceMs).toISOString()),
          last: day(new Date(o.lastDoseMs).toISOString()),
        }),
      );
  if (therapy.length) {
    const medicines = therapy
      .map((u) =>
        sharedText(k, 'therapyItem', {
          medicine: u.name,
          reference: u.reference,
          match: matchText(u, k.osteoporosisTherapy, k),
        }),
      )
      .join('; ');
    suppress.push(sharedReason(k, 'osteoporosis-therapy', { months: r.osteoporosisTherapyWithinMonths, medicines }));
  }
  if (c.boneDensityOrders.length) {
    const orders = c.boneDensityOrders
      .map((o) =>
        sharedText(k, 'orderItem', {
          what: o.what,
          reference: o.reference,
          status: o.origin === 'order' ? sharedText(k, 'inThisSession') : o.status,
        }),
      )
      .join('; ');
    suppress.push(sharedReason(k, 'dxa-ordered', { orders }));
  }
  const quiet = conditionsOf(c, r.suppressingConditions, { activeOnly: true });
  for (const f of quiet) {
    const m = strongest(f.matches.filter((x) => isOneOf(x, r.suppressingConditions))) as ConceptMatch;
    // The code is the condition's concept (palliative-care, bone-metastases); the words are shared.
    const found = sharedText(k, 'therapyItem', { medicine: f.text, reference: f.reference, match: describeMatch(m) });
    suppress.push(sharedReason(k, m.concept.id, { condition: m.concept.display, found }, 'suppressing-condition'));
  }
  const unchecked = missing(
    c,
    'bone-density',
    'bone-density-orders',
    'osteoporosis-therapy',
    'medications',
    'conditions',
    'palliative-care',
  );
  const caveats = unchecked.map((d) => sharedText(k, 'couldNotCheck', { domain: domainText(ctx.knowledge, d) }));
  const uncheckedLine = unchecked.length
    ? sharedText(k, 'foundUnchecked', {
        domains: listOf(
          k,
          unchecked.map((d) => domainText(ctx.knowledge, d)),
        ),
      })
    : undefined;
  return { suppress, caveats, overdueLines, ...(uncheckedLine ? { uncheckedLine } : {}) };
}

export function matchText(u: MedicationUse, names: readonly string[], k: Knowledge): string {
  const m = strongest(u.matches.filter((x) => isOneOf(x, names)));
  return m ? sharedText(k, 'recognisedBy', { match: describeMatch(m) }) : sharedText(k, 'recognised');
}

/** "a, b and c", with the knowledge file's word for "and". */
/** Items in prose, each once: refills and repeated doses of one product name one medicine, not four. */
export function listOf(k: Knowledge, items: string[]): string {
  const once = [...new Set(items)];
  return once.length > 1
    ? sharedText(k, 'listAnd', { items: once.slice(0, -1).join(', '), last: once.at(-1) as string })
    : (once[0] ?? '');
}

/** The card's DXA line: none in the window (and the last one, if any), or the history could not be read. */
export function foundDxa(ctx: RuleContext, sinceMonths: number): string {
  const k = ctx.knowledge;
  if (missing(ctx.context, 'bone-density').length) return sharedText(k, 'foundDxaUnchecked');
  const last = ctx.context.boneDensity[0];
  return last
    ? sharedText(k, 'foundLastDxa', { months: sinceMonths, date: day(last.effective) })
    : sharedText(k, 'foundNoDxa', { months: sinceMonths });
}

export function lastDxaText(ctx: RuleContext, sinceMonths: number): string {
  const k = ctx.knowledge;
  if (missing(ctx.context, 'bone-density').length)
    return sharedText(k, 'lastDxaUnchecked', { domain: domainText(ctx.knowledge, 'bone-density') });
  const last = ctx.context.boneDensity[0];
  return last
    ? sharedText(k, 'lastDxa', { months: sinceMonths, date: day(last.effective), reference: last.reference })
    : sharedText(k, 'noDxa', { months: sinceMonths });
}

export function links(ls: LinkKnowledge[]): { label: string; url: string }[] {
  return ls.map((l) => ({ label: l.label, url: l.url }));
}

/** A measure computed from medication resources, for the machine-readable contract (derivedFrom names them). */
export function medicationMeasure(
  code: 'prednisone-equivalent-dose' | 'glucocorticoid-exposure',
  value: number,
  unit: string,
  uses: MedicationUse[],
  formula: string,
  effective: string,
): Measure | undefined {
  const derivedFrom = [...new Set(uses.filter((u) => u.hasId).map((u) => u.reference))];
  if (!derivedFrom.length || !Number.isFinite(value)) return undefined;
  return {
    code,
    display: MEASURE_DISPLAY[code],
    value,
    unit,
    derivedFrom,
    inputs: [],
    formula,
    citations: [],
    effective,
  };
}
