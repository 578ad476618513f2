import { Type } from '@sinclair/typebox';
import { isOneOf, strongest } from '../codesets';
import { courseOf, domainText, dxaSince, focusUnreadable, missing, usesOf } from '../context';
import { subtractMonths } from '../dates';
import { day, significant as fmtDays } from '../format';
import type { MedicationUse } from '../medications';
import { MedicationNames, NonNegative, Provenance, ruleKnowledge, Summary } from '../schema';
import { briefFrom, capitalise, cardText, reasonFrom, sharedText, type TextParams } from '../text';
import type { OrderSuggestion } from '../types';
import { boneCardKnowledge, boneCare, links, listOf, matchText } from './bone-care';
import { outcome, type Rule } from './rule';

const ID = 'endocrine-therapy-bone';
/** A use still counts as current if its period reached within this many days of today (a monthly depot injection). */
const CURRENT_WITHIN_DAYS = 45;

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
  /**
   * GnRH analogues (agonists and antagonists): in a woman they suppress the ovaries, which is what the card names;
   * the other androgen-deprivation agents (antiandrogens) are not counted in a woman [evidence: ovarian-suppression].
   */
  ovarianSuppression: Type.Object(
    { concepts: MedicationNames, provenance: Provenance },
    { additionalProperties: false },
  ),
  summaryOvarianSuppression: Summary,
  summaryOrderOvarianSuppression: Summary,
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
    // Ongoing therapy only: a course bounded to a few days (letrozole for ovulation induction) is not exposure. The
    // course is the medicine's timeline, not one resource: three 12-weekly depot injections are one long course.
    const shortCourses = current.flatMap((u) => {
      const course = courseOf(c, u, r.triggers);
      return course && !course.open && course.days < r.minCourseDays ? [{ u, course }] : [];
    });
    const short = shortCourses.map((x) => x.u);
    const uses = current.filter((u) => !short.includes(u));
    const shortReasons = shortCourses.map(({ u, course }) => ({
      code: 'short-course',
      text: reasonFrom(r.text, 'short-course', {
        medicine: `${u.name} (${u.reference})`,
        days: fmtDays(course.days),
        period: course.how,
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
    const verified = uses.filter((u) => strongest(u.matches.filter((m) => isOneOf(m, r.triggers)))?.verified);
    // What the therapy does depends on the sex it acts in: androgen deprivation in a man, ovarian suppression in a
    // woman (GnRH analogues only; an antiandrogen in a woman is not this card's therapy).
    const sex = ctx.patient.sex;
    const kindOf = (u: MedicationUse): string | undefined => {
      const m = strongest(u.matches.filter((x) => isOneOf(x, r.triggers)));
      if (m?.concept.group !== 'androgen-deprivation') return 'aromatase-inhibitor';
      const gnrh = u.matches.some((x) => isOneOf(x, r.ovarianSuppression.concepts));
      if (sex === 'female') return gnrh ? 'ovarian-suppression' : undefined;
      if (sex === 'male') return 'androgen-deprivation';
      return gnrh ? 'gnrh-analogue' : 'androgen-deprivation';
    };
    const notInSex = verified.filter((u) => kindOf(u) === undefined);
    const trusted = verified.filter((u) => kindOf(u) !== undefined);
    if (!trusted.length && notInSex.length) {
      return outcome.notMet(ID, [
        reasonFrom(r.text, 'antiandrogen-in-woman', {
          medicines: notInSex.map((u) => `${u.name} (${u.reference})`).join('; '),
        }),
        ...shortReasons,
      ]);
    }
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
    // Only the DXA its sources support: nothing about endocrine-therapy bone loss needs creatinine or cystatin C.
    const kinds = [...new Set(trusted.map((u) => kindOf(u) as string))];
    const what = kinds.map((g) => say(g)).join(` ${say('and')} `);
    const ovarian = kinds.includes('ovarian-suppression');
    const focus = trusted.filter((u) => u.focus);
    return outcome.fired(ID, {
      ruleId: ID,
      indicator: r.indicator,
      summary: ovarian
        ? onOrders
          ? r.summaryOrderOvarianSuppression
          : r.summaryOvarianSuppression
        : onOrders
          ? r.summaryOrder
          : r.summary,
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
        // The shared why line names androgen deprivation; in a woman a GnRH analogue is ovarian suppression.
        ...(ovarian ? { why: say('whyOvarianSuppression') } : {}),
        unchecked: [...(care.uncheckedLine ? [care.uncheckedLine] : []), ...care.overdueLines],
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
          ...care.overdueLines,
          say('foundNoDxa', { months: r.dxaBeforeStartMonths }),
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
