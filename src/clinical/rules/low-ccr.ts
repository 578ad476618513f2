import { Type } from '@sinclair/typebox';
import { domainText, missing } from '../context';
import { DAY_MS } from '../dates';
import { day, labText, measureText, round, unitText } from '../format';
import { egfrStageText } from '../kidney-stage';
import { findMeasure } from '../measures';
import { AdultAge, Indicator, NonNegative, Positive, Provenance, RuleText, ruleKnowledge, Summary } from '../schema';
import { briefFrom, cardText, reasonFrom, sharedText } from '../text';
import type { LabValue, Reason } from '../types';
import { listOf } from './bone-care';
import { CcrConfounders, ccrConfounders } from './ccr-confounders';
import { outcome, type Rule, type RuleContext } from './rule';

const ID = 'low-ccr';

/**
 * Creatinine not in a steady state around a draw: a change of KDIGO AKI size in either direction, ≥ 0.3 mg/dL within
 * 48 h or by a factor of ≥ 1.5 within 7 days, anywhere from 7 days before to 48 h after the draw. KDIGO defines AKI
 * by the rise; a fall of the same size is a recovering AKI, and neither creatinine is a steady-state value, which
 * every creatinine-based estimate (eGFR, the ratio) assumes [evidence: kdigo-2012-aki].
 */
export function creatinineChange(
  creatinines: LabValue[],
  at: LabValue,
  aki: RuleContext['knowledge']['rules']['low-ccr']['aki'],
): { direction: 'rise' | 'fall'; from: LabValue; to: LabValue } | undefined {
  const h48 = aki.absoluteWindowHours * 3_600_000;
  const d7 = aki.relativeWindowDays * DAY_MS;
  const around = creatinines
    .filter((c) => c.effectiveMs >= at.effectiveMs - d7 && c.effectiveMs <= at.effectiveMs + h48)
    .sort((a, b) => a.effectiveMs - b.effectiveMs);
  for (let i = 0; i < around.length; i++) {
    for (let j = i + 1; j < around.length; j++) {
      const earlier = around[i] as LabValue;
      const later = around[j] as LabValue;
      const gap = later.effectiveMs - earlier.effectiveMs;
      const high = Math.max(earlier.value, later.value);
      const low = Math.min(earlier.value, later.value);
      const big = (gap <= h48 && high - low >= aki.absoluteRiseMgDl) || (gap <= d7 && high >= aki.relativeRise * low);
      if (big) return { direction: later.value > earlier.value ? 'rise' : 'fall', from: earlier, to: later };
    }
  }
  return undefined;
}

/** The unsteady-creatinine reason in a rule's words: which way it moved, from what to what. */
export function akiReason(
  text: RuleContext['knowledge']['rules']['low-ccr']['text'],
  change: NonNullable<ReturnType<typeof creatinineChange>>,
): Reason {
  const words = reasonFrom(text, 'aki-pattern', {
    direction: cardText(text, change.direction === 'rise' ? 'creatinineRose' : 'creatinineFell'),
    from: `${round(change.from.value, change.from.unit)} ${unitText(change.from.unit)} (${day(change.from.effective)})`,
    to: `${round(change.to.value, change.to.unit)} ${unitText(change.to.unit)} (${day(change.to.effective)})`,
  });
  return { ...words, params: { direction: change.direction } };
}

/** Whether creatinine around the draw changed by a KDIGO AKI magnitude, rising or falling. */
export function akiPattern(
  creatinines: LabValue[],
  at: LabValue,
  aki: RuleContext['knowledge']['rules']['low-ccr']['aki'],
): boolean {
  return creatinineChange(creatinines, at, aki) !== undefined;
}

const CountOrSmall = Type.Union([Type.Integer({ minimum: 10 }), Type.Literal('< 10')]);
const Interval = Type.Array(Type.Number(), { minItems: 2, maxItems: 2 });
const Month = Type.String({ pattern: '^\\d{4}-\\d{2}$' });

/**
 * How `crosstalk calibrate` derived a site threshold from the site's own patients (aggregates only): read by people
 * and by the governance review, never by the rule.
 */
const Calibration = Type.Object(
  {
    method: Type.Literal('percentile'),
    percentile: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 100 }),
    n: Type.Object({ female: CountOrSmall, male: CountOrSmall }, { additionalProperties: false }),
    ci95: Type.Optional(
      Type.Object({ female: Type.Optional(Interval), male: Type.Optional(Interval) }, { additionalProperties: false }),
    ),
    minPerSex: Type.Integer({ minimum: 1 }),
    source: Type.String(),
    drawMonths: Type.Optional(
      Type.Object({ from: Type.Optional(Month), to: Type.Optional(Month) }, { additionalProperties: false }),
    ),
    asOf: Type.Optional(Type.String()),
    knowledgeVersion: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** This rule's data under rules.low-ccr in the knowledge file: its thresholds, names and words. */
export const knowledge = ruleKnowledge({
  indicator: Indicator,
  minAgeYears: AdultAge,
  adultAgeYears: AdultAge,
  threshold: Type.Object(
    {
      measure: Type.Literal('ccr'),
      below: Type.Object(
        {
          female: Type.Number({ exclusiveMinimum: 0, maximum: 3 }),
          male: Type.Number({ exclusiveMinimum: 0, maximum: 3 }),
        },
        { additionalProperties: false },
      ),
      provisional: Type.Boolean(),
      provenance: Provenance,
      calibration: Type.Optional(Calibration),
    },
    { additionalProperties: false },
  ),
  minEgfrCrCys: NonNegative,
  confounders: CcrConfounders,
  aki: Type.Object(
    {
      absoluteRiseMgDl: Positive,
      absoluteWindowHours: Positive,
      relativeRise: Type.Number({ exclusiveMinimum: 1 }),
      relativeWindowDays: Positive,
      provenance: Provenance,
    },
    { additionalProperties: false },
  ),
  summary: Summary,
  text: RuleText,
});

/** R4 [evidence: low-ccr-card]: low creatinine/cystatin C ratio as a possible low-muscle-mass signal, lab-based suppressions. */
export const rule: Rule = {
  id: ID,
  evaluate(ctx) {
    const k = ctx.knowledge;
    const r = k.rules[ID];
    if (!r.enabled) return outcome.disabled(ID, k);
    const say = (code: string, params?: Record<string, string | number>, key?: string) =>
      reasonFrom(r.text, code, params, key);
    const suppress: Reason[] = [];
    const age = ctx.ageNow;
    if (age === undefined) suppress.push(say('age-unknown'));
    else if (age < r.adultAgeYears) suppress.push(say('age-below-adult', { age, minimum: r.adultAgeYears }));
    else if (age < r.minAgeYears)
      return outcome.notMet(ID, [say('age-below-minimum', { age, minimum: r.minAgeYears })]);
    const sex = ctx.patient.sex;
    if (!sex) suppress.push(say('sex-unknown'));
    // A creatinine or cystatin C result set aside unread may be the newest draw: the ratio from the others is not shown.
    if (missing(ctx.context, 'ccr-labs').length)
      suppress.push(say('labs-unreadable', { domain: domainText(k, 'ccr-labs') }));

    const pair = ctx.selection.ccrPair;
    if (!pair) {
      const { creatinine, 'cystatin-c': cys } = ctx.selection.inWindow;
      if (creatinine.length && cys.length) {
        suppress.push(say('not-same-draw', { months: k.lookbackMonths, hours: k.pairing.creatinineCystatinMaxHours }));
      } else {
        return outcome.notMet(ID, [...suppress, say('missing-input', { months: k.lookbackMonths })]);
      }
      return outcome.suppressed(ID, suppress);
    }

    const egfr = findMeasure(ctx.measures, 'egfr-cr-cys-2021');
    if (egfr && egfr.value < r.minEgfrCrCys) {
      // The words show the value as the card rounds it; the parameter keeps one decimal for machines.
      const reason = say('egfr-below-minimum', { value: round(egfr.value, egfr.unit), minimum: r.minEgfrCrCys });
      suppress.push({
        ...reason,
        params: { measure: egfr.code, value: Number(egfr.value.toFixed(1)), minimum: r.minEgfrCrCys },
      });
    }
    const change = creatinineChange(ctx.selection.inWindow.creatinine, pair.creatinine, r.aki);
    if (change) suppress.push(akiReason(r.text, change));
    const confounders = ccrConfounders(ctx, pair.creatinine.effectiveMs);
    suppress.push(...confounders.reasons);
    if (confounders.suppressing.length) {
      // The CCR card is suppressed generously [evidence: unreadable-confounder]; a ratio whose confounders could not
      // be checked is not shown. A second source whose primary domain was read is named on the card instead
      // [evidence: secondary-confounder-source].
      suppress.push(
        say('context-unavailable', {
          unchecked: confounders.unchecked.map((d) => domainText(ctx.knowledge, d)).join(', '),
        }),
      );
    }
    // A confounder result that exists but cannot be read is a check that did not happen; by default it suppresses.
    if (r.confounders.uncheckedSuppresses) suppress.push(...confounders.unreadable);
    if (suppress.length) return outcome.suppressed(ID, suppress);

    const ccr = findMeasure(ctx.measures, 'ccr');
    if (!ccr || !sex) return outcome.notMet(ID, [say('not-computable')]);
    const cut = r.threshold.below[sex];
    // A calibrated threshold may carry three decimals (0.686): the ratio is shown to as many, so a card never reads
    // "CCR 0.69 is below the threshold 0.69".
    const places = Math.max(2, decimalsOf(cut));
    const ccrText = places > 2 ? ccr.value.toFixed(places) : round(ccr.value, ccr.unit);
    const cutText = cardText(r.text, r.threshold.provisional ? 'thresholdProvisional' : 'threshold', {
      cut: cut.toFixed(places),
      sex: cardText(r.text, sex),
    });
    if (ccr.value >= cut) {
      const reason = say('ccr-not-low', { ccr: ccrText, threshold: cutText });
      return outcome.notMet(ID, [{ ...reason, params: { value: ccr.value, threshold: cut, sex } }]);
    }
    const date = day(pair.creatinine.effective);

    const measures = (['sarcopenia-index', 'ccr', 'egfr-cr-2021', 'egfr-cr-cys-2021', 'egfr-cys-2012'] as const)
      .map((c) => findMeasure(ctx.measures, c))
      .filter((m) => !!m);
    const word = (key: string, params?: Record<string, string | number>) => cardText(r.text, key, params);
    // The card's found part, in the rule's words: the ratio with the two values and the date, then kidney function.
    // Each input is one value and unit, so the sentence fits the card's budget whatever the values are.
    const short = (l: LabValue) => `${round(l.value, l.unit)} ${unitText(l.unit)}`;
    const found = [
      word('found', {
        ccr: ccrText,
        creatinine: short(pair.creatinine),
        cystatin: short(pair.cystatin),
        date,
        threshold: cutText,
      }),
      ...(egfr
        ? [word('foundKidney', { egfr: round(egfr.value, egfr.unit), stage: egfrStageText(k, egfr) ?? '' })]
        : []),
      ...(confounders.unchecked.length
        ? [
            sharedText(k, 'foundUnchecked', {
              domains: listOf(
                k,
                confounders.unchecked.map((d) => domainText(k, d)),
              ),
            }),
          ]
        : []),
      ...(confounders.unreadable.length
        ? [
            word('foundUnreadable', {
              domains: listOf(k, [
                ...new Set(
                  confounders.unreadable.map((u) =>
                    domainText(ctx.knowledge, u.code === 'crp-unreadable' ? 'crp' : 'bmi'),
                  ),
                ),
              ]),
            }),
          ]
        : []),
    ];
    return outcome.fired(ID, {
      ruleId: ID,
      indicator: r.indicator,
      summary: r.summary,
      statements: [
        cardText(r.text, 'lead', { ccr: ccrText, threshold: cutText, date }),
        word('creatinine', { value: labText(pair.creatinine) }),
        word('cystatin', { value: labText(pair.cystatin) }),
        ...measures.map((m) => {
          const stage = egfrStageText(k, m);
          const shown = stage ? word('measureStaged', { measure: measureText(m), stage }) : measureText(m);
          return word('measure', { measure: shown, formula: m.formula });
        }),
      ],
      measures,
      context: [],
      caveats: [
        word(r.threshold.provisional ? 'caveatProvisional' : 'caveatSite', { provenance: r.threshold.provenance }),
        word('caveatAccuracy'),
        word('caveatChecked', { checked: confounders.checked.join(', ') }),
        ...(confounders.notOnFile.length ? [word('caveatNotOnFile', { items: confounders.notOnFile.join('; ') })] : []),
        ...confounders.unchecked.map((d) => sharedText(k, 'couldNotCheck', { domain: domainText(k, d) })),
        ...confounders.unreadable.map((u) => word('caveatUnreadable', { reason: u.text })),
        word('caveatGender'),
        word('caveatConfirm'),
      ],
      citations: r.citations.map((id) => k.citations[id]).filter((c) => !!c),
      suggestions: [{ label: word('suggestDxa'), orders: [k.orders.dxa] }],
      carryOverBrief: word(r.threshold.provisional ? 'carryOverBriefProvisional' : 'carryOverBrief', {
        ccr: ccrText,
        cut: cut.toFixed(places),
        date,
      }),
      carryOver: cardText(r.text, r.threshold.provisional ? 'carryOverProvisional' : 'carryOver', {
        ccr: ccrText,
        cut: cut.toFixed(places),
        date,
        creatinineRef: pair.creatinine.reference,
        cystatinRef: pair.cystatin.reference,
      }),
      brief: { ...briefFrom(r.text), found },
    });
  },
};

/** Decimal places a threshold is written with (0.7 → 1, 0.686 → 3), at most 4. */
function decimalsOf(n: number): number {
  for (let d = 0; d < 4; d++) if (Number(n.toFixed(d)) === n) return d;
  return 4;
}
