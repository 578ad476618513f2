import { Type } from '@sinclair/typebox';
import { isOneOf, strongest } from '../codesets';
import { domainText, dxaSince, focusUnreadable, missing, usesOf } from '../context';
import { DAY_MS, subtractMonths } from '../dates';
import { day, significant as fmtDays } from '../format';
import type { MedicationUse } from '../medications';
import { MedicationNames, NonNegative, Provenance, ruleKnowledge, Summary } from '../schema';
import { briefFrom, capitalise, cardText, reasonFrom, sharedText, type TextParams } from '../text';
import type { OrderSuggestion } from '../types';
import { boneCardKnowledge, boneCare, links, listOf, matchText } from './bone-care';
import { ccrConfounders } from './ccr-confounders';
import { ccrLabGap } from './ccr-lab-gap';
import { outcome, type Rule } from './rule';

const ID = 'endocrine-therapy-bone';
/** A use still counts as current if its period reached within this many days of today (a monthly depot injection). */
const CURRENT_WITHIN_DAYS = 45;

function courseDays(u: MedicationUse): number {
  return u.period.ok ? (u.period.value.endMs - u.period.value.startMs) / DAY_MS : Infinity;
}

/** This rule's data under rules.endocrine-therapy-bone in the knowledge file: its thresholds, names and words. */
export const knowledge = ruleKnowledge({
  ...boneCardKnowledge,
  triggers: MedicationNames,
  dxaBeforeStartMonths: NonNegative,
  /** A use counts as ongoing therapy unless its course is bounded to fewer days than this. */
  minCourseDays: Type.Number({
    minimum: 0,
    description:
      'a course bounded (by supply, count, bounds or a stopped order) to fewer days than this is not ongoing therapy (ovulation induction, a fertility cycle)',
  }),
  minCourseProvenance: Provenance,
  summaryOrder: Summary,
});

/**
 * R2 [evidence: endocrine-therapy-card]: an aromatase inhibitor or androgen-deprivation therapy without a baseline DXA → info card
 * with a DXA order; when the CCR cannot be computed, the creatinine + cystatin C order rides on the same card.
 */
export const rule: Rule = {
  id: ID,
  evaluate(ctx) {
    const k = ctx.knowledge;
    const r = k.rules[ID];
    if (!r.enabled) return outcome.disabled(ID, k);
    const c = ctx.context;
    const onOrders = c.mode === 'orders';
    if (!onOrders && missing(c, 'medications').length) {
      return outcome.notMet(ID, [
        reasonFrom(r.text, 'context-unavailable', { domain: domainText(ctx.knowledge, 'medications') }),
      ]);
    }
    const current = usesOf(c, r.triggers, ctx.asOf.getTime(), CURRENT_WITHIN_DAYS);
    // Ongoing therapy only: a course bounded to a few days (letrozole for ovulation induction) is not exposure.
    const short = current.filter((u) => u.period.ok && !u.period.value.open && courseDays(u) < r.minCourseDays);
    const uses = current.filter((u) => !short.includes(u));
    const shortReasons = short.map((u) => ({
      code: 'short-course',
      text: reasonFrom(r.text, 'short-course', {
        medicine: `${u.name} (${u.reference})`,
        days: fmtDays(courseDays(u)),
        period: u.period.ok ? u.period.value.how : '',
        minimum: r.minCourseDays,
      }).text,
    }));
    if (onOrders && !uses.some((u) => u.focus)) {
      // An order being placed that could not be read may be one of these: not checked, which is not "no order".
      const why = focusUnreadable(c, 'medications')
        ? reasonFrom(r.text, 'context-unavailable', { domain: domainText(ctx.knowledge, 'medications') })
        : reasonFrom(r.text, 'no-order');
      return outcome.notMet(ID, [why, ...shortReasons]);
    }
    if (!uses.length) return outcome.notMet(ID, [reasonFrom(r.text, 'no-therapy'), ...shortReasons]);
    const trusted = uses.filter((u) => strongest(u.matches.filter((m) => isOneOf(m, r.triggers)))?.verified);
    if (!trusted.length) {
      return outcome.notMet(ID, [
        reasonFrom(r.text, 'unverified-code', {
          medicines: uses.map((u) => `${u.name} (${matchText(u, r.triggers, k)})`).join('; '),
        }),
      ]);
    }

    const startMs = Math.min(...trusted.map((u) => (u.period.ok ? u.period.value.startMs : ctx.asOf.getTime())));
    const from = subtractMonths(new Date(startMs), r.dxaBeforeStartMonths);
    const dxa = dxaSince(c, from.getTime());
    if (dxa) {
      return outcome.notMet(ID, [
        reasonFrom(r.text, 'baseline-dxa-done', {
          date: day(dxa.effective),
          reference: dxa.reference,
          months: r.dxaBeforeStartMonths,
          start: day(new Date(startMs).toISOString()),
        }),
      ]);
    }
    const care = boneCare(ctx, r);
    if (care.suppress.length) return outcome.suppressed(ID, care.suppress);

    const say = (key: string, params?: TextParams) => cardText(r.text, key, params);
    const suggestions: OrderSuggestion[] = [{ label: say('suggestDxa'), orders: [k.orders.dxa] }];
    const labLines: string[] = [];
    const labFound: string[] = [];
    const labsUnread = missing(c, 'ccr-labs').length > 0;
    const gap = labsUnread ? undefined : ccrLabGap(ctx);
    if (gap && k.rules['low-ccr'].enabled && !ccrConfounders(ctx, ctx.asOf.getTime()).reasons.length) {
      suggestions.push(gap.suggestion);
      labLines.push(sharedText(k, 'ratioCannotBeComputed', { statements: gap.statements.join(' ') }));
      labFound.push(gap.found);
    }
    const groups = [
      ...new Set(trusted.map((u) => strongest(u.matches.filter((m) => isOneOf(m, r.triggers)))?.concept.group)),
    ];
    const what = groups
      .map((g) => say(g === 'aromatase-inhibitor' ? 'aromatase-inhibitor' : 'androgen-deprivation'))
      .join(` ${say('and')} `);
    const focus = trusted.filter((u) => u.focus);
    return outcome.fired(ID, {
      ruleId: ID,
      indicator: r.indicator,
      summary: onOrders ? r.summaryOrder : r.summary,
      statements: [
        ...trusted.map((u) =>
          say('therapy', {
            order: u.origin === 'order' ? sharedText(k, 'beingOrdered') : '',
            medicine: u.name,
            reference: u.reference,
            period: u.period.ok ? u.period.value.how : u.status,
            match: matchText(u, r.triggers, k),
          }),
        ),
        say('noBaselineDxa', { months: r.dxaBeforeStartMonths, start: day(new Date(startMs).toISOString()) }),
        ...labLines,
        // A sentence that opens with the domain's name: its first letter is the only thing code changes.
        ...(labsUnread ? [capitalise(say('labsUnread', { domain: domainText(ctx.knowledge, 'ccr-labs') }))] : []),
      ],
      measures: [],
      context: [],
      caveats: [capitalise(say('caveatHormones', { therapy: what })), ...care.caveats],
      citations: r.citations.map((id) => k.citations[id]).filter((x) => !!x),
      suggestions,
      links: links(r.links),
      about: (focus.length ? focus : trusted).filter((u) => u.hasId).map((u) => u.reference),
      brief: {
        ...briefFrom(r.text),
        found: [
          say('found', {
            order: trusted.some((u) => u.origin === 'order') ? sharedText(k, 'beingOrdered') : '',
            medicines: listOf(
              k,
              trusted.map((u) => u.name),
            ),
            therapy: what,
            start: day(new Date(startMs).toISOString()),
          }),
          ...(care.uncheckedLine ? [care.uncheckedLine] : []),
          say('foundNoDxa', { months: r.dxaBeforeStartMonths }),
          ...labFound,
          ...(labsUnread ? [capitalise(say('labsUnread', { domain: domainText(ctx.knowledge, 'ccr-labs') }))] : []),
        ],
        then: [sharedText(k, 'calculateFrax')],
      },
      carryOverBrief: say('carryOverBrief', {
        therapy: what,
        medicines: listOf(
          k,
          trusted.map((u) => u.name),
        ),
      }),
      carryOver: say('carryOver', {
        therapy: what,
        medicines: trusted.map((u) => `${u.name}, ${u.reference}`).join('; '),
      }),
    });
  },
};
