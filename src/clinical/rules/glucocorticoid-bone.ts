import { Type } from '@sinclair/typebox';
import { type ConceptMatch, describeMatch } from '../codesets';
import { conditionsOf, domainText, dxaSince, focusUnreadable, missing } from '../context';
import { DAY_MS, startOfDay, subtractMonths } from '../dates';
import { type DoseInterval, exposureRuns, glucocorticoidDoses, glucocorticoidIngredient, inForce } from '../exposure';
import { day, significant as fmt } from '../format';
import type { MedicationUse } from '../medications';
import { ConditionNames, MedicationNames, NonNegative, Positive, Provenance, ruleKnowledge, Summary } from '../schema';
import { briefFrom, cardText, reasonFrom, sharedText, type TextParams } from '../text';
import type { Measure, Reason } from '../types';
import { boneCardKnowledge, boneCare, foundDxa, lastDxaText, links, listOf, medicationMeasure } from './bone-care';
import { outcome, type Rule } from './rule';

const ID = 'glucocorticoid-bone';

/** This rule's data under rules.glucocorticoid-bone in the knowledge file: its thresholds, names and words. */
export const knowledge = ruleKnowledge({
  ...boneCardKnowledge,
  triggers: MedicationNames,
  minPrednisoneEqMgPerDay: Positive,
  minDays: Positive,
  recentDays: NonNegative,
  maxGapDays: NonNegative,
  dxaWithinMonths: Positive,
  fraxMinAgeYears: NonNegative,
  hydrocortisoneReplacement: Type.Object(
    { enabled: Type.Boolean(), maxMgPerDay: Positive, conditions: ConditionNames, provenance: Provenance },
    { additionalProperties: false },
  ),
  /** FRAX takes glucocorticoids as yes or no; above this dose its probabilities are raised by these factors. */
  fraxDoseAdjustment: Type.Object(
    {
      aboveMgPerDay: Positive,
      majorFractureFactor: Type.Number({ exclusiveMinimum: 1 }),
      hipFractureFactor: Type.Number({ exclusiveMinimum: 1 }),
      provenance: Provenance,
    },
    { additionalProperties: false },
  ),
  summaryUnder40: Summary,
  summaryOrder: Summary,
});

/**
 * R1 (ACR 2022 GIOP) [evidence: glucocorticoid-card, acr-2022-giop]: systemic glucocorticoid at ≥ 2.5 mg/day prednisone-equivalent for more than
 * 3 months, no DXA in 24 months, no osteoporosis therapy → warning with a DXA + VFA order. On an order hook it fires
 * only when an order being placed makes (or extends) such a course.
 */
export const rule: Rule = {
  id: ID,
  evaluate(ctx) {
    const k = ctx.knowledge;
    const r = k.rules[ID];
    if (!r.enabled) return outcome.disabled(ID, k);
    const c = ctx.context;
    const say = (key: string, params?: TextParams) => cardText(r.text, key, params);
    const onOrders = c.mode === 'orders';
    if (!onOrders && missing(c, 'medications').length) {
      return outcome.notMet(ID, [
        reasonFrom(r.text, 'context-unavailable', { domain: domainText(ctx.knowledge, 'medications') }),
      ]);
    }

    const notes: Reason[] = [];
    const systemic: MedicationUse[] = [];
    const ingredientOf = new Map<MedicationUse, ConceptMatch>();
    for (const u of c.medications) {
      const ingredient = glucocorticoidIngredient(u, r.triggers);
      if (!ingredient) continue;
      if (u.route.kind === 'local')
        notes.push(reasonFrom(r.text, 'not-systemic', { medicine: `${u.name} (${u.reference})`, route: u.route.how }));
      else if (u.route.kind === 'unknown')
        notes.push(reasonFrom(r.text, 'route-unknown', { medicine: `${u.name} (${u.reference})`, route: u.route.how }));
      else {
        systemic.push(u);
        ingredientOf.set(u, ingredient);
      }
    }
    if (onOrders && !systemic.some((u) => u.focus)) {
      // An order being placed that could not be read may be a glucocorticoid: not checked, which is not "no order".
      const why = focusUnreadable(c, 'medications')
        ? reasonFrom(r.text, 'context-unavailable', { domain: domainText(ctx.knowledge, 'medications') })
        : reasonFrom(r.text, 'no-order');
      return outcome.notMet(ID, [why, ...notes]);
    }
    if (!systemic.length) return outcome.notMet(ID, [reasonFrom(r.text, 'no-glucocorticoid'), ...notes]);

    const asOfMs = ctx.asOf.getTime();
    const dosesOf = (u: MedicationUse, asPrescribed = false) =>
      glucocorticoidDoses(u, ingredientOf.get(u) as ConceptMatch, k, asOfMs, asPrescribed);
    const taken = new Map(systemic.map((u) => [u, dosesOf(u)]));
    const intervals: DoseInterval[] = [];
    for (const [u, d] of taken) {
      if (d.why) notes.push(reasonFrom(r.text, 'dose-unknown', { medicine: `${u.name} (${u.reference})`, why: d.why }));
      intervals.push(...d.intervals);
    }
    const runs = exposureRuns(intervals, r.minPrednisoneEqMgPerDay, r.maxGapDays);
    let run = runs.find(
      (x) =>
        x.days > r.minDays &&
        (onOrders ? x.intervals.some((i) => i.use.focus) : x.endMs >= asOfMs - r.recentDays * DAY_MS),
    );
    // A course begun and prescribed for more than 3 months is what ACR 2022 means by "beginning" long-term therapy:
    // judged on its plan while an order (or supply) for it is in force today, though only the days taken are counted.
    const inForceUses = onOrders || run ? [] : systemic.filter((u) => inForce(u, asOfMs));
    if (inForceUses.length) {
      // Only a use in force has a plan beyond today; every other use's days are the ones already read.
      const prescribed = systemic.flatMap((u) =>
        inForceUses.includes(u) ? dosesOf(u, true).intervals : (taken.get(u)?.intervals ?? []),
      );
      run = exposureRuns(prescribed, r.minPrednisoneEqMgPerDay, r.maxGapDays).find(
        (x) =>
          x.days > r.minDays &&
          x.startMs <= asOfMs &&
          x.endMs > asOfMs &&
          x.intervals.some((i) => inForceUses.includes(i.use)),
      );
    }
    // No dose could be read at all: say so (the notes), never "0 mg/day".
    if (!run && !intervals.length && notes.length) return outcome.notMet(ID, notes);
    if (!run) {
      const top = Math.max(0, ...intervals.map((i) => i.prednisoneEqMgPerDay));
      const longest = runs[0];
      const limits = { minimumMgPerDay: r.minPrednisoneEqMgPerDay, minDays: r.minDays, recentDays: r.recentDays };
      const reason = longest
        ? reasonFrom(
            r.text,
            'below-threshold',
            { ...limits, days: Math.round(longest.days) },
            onOrders ? 'below-threshold-order' : 'below-threshold',
          )
        : reasonFrom(r.text, 'below-threshold', { ...limits, dose: fmt(top) }, 'below-threshold-dose');
      return outcome.notMet(ID, [reason, ...notes]);
    }
    const uses = [...new Set(run.intervals.map((i) => i.use))];
    const evidence = uses.map((u) => glucocorticoidIngredient(u, r.triggers)).filter((m) => m?.verified);
    if (!evidence.length) {
      const matches = uses
        .map((u) =>
          describeMatch(
            glucocorticoidIngredient(u, r.triggers) as NonNullable<ReturnType<typeof glucocorticoidIngredient>>,
          ),
        )
        .join('; ');
      return outcome.notMet(ID, [reasonFrom(r.text, 'unverified-code', { matches })]);
    }

    const dxa = dxaSince(c, subtractMonths(ctx.asOf, r.dxaWithinMonths).getTime());
    if (dxa)
      return outcome.notMet(ID, [
        reasonFrom(r.text, 'recent-dxa', {
          date: day(dxa.effective),
          reference: dxa.reference,
          months: r.dxaWithinMonths,
        }),
      ]);

    const care = boneCare(ctx, r);
    const hc = r.hydrocortisoneReplacement;
    const onlyHydrocortisone = uses.every(
      (u) => glucocorticoidIngredient(u, r.triggers)?.concept.id === 'hydrocortisone',
    );
    const maxHc = Math.max(...run.intervals.map((i) => i.ingredientMgPerDay));
    const adrenal =
      hc.enabled && onlyHydrocortisone && maxHc <= hc.maxMgPerDay
        ? conditionsOf(c, hc.conditions, { activeOnly: true })
        : [];
    if (adrenal.length) {
      const conditions = adrenal.map((f) => `${f.text} (${f.reference})`).join('; ');
      care.suppress.push(
        reasonFrom(r.text, 'physiological-replacement', { dose: fmt(maxHc), maximum: hc.maxMgPerDay, conditions }),
      );
    }
    if (care.suppress.length) return outcome.suppressed(ID, care.suppress);

    const age = ctx.ageNow;
    const under40 = age !== undefined && age < r.fraxMinAgeYears;
    const maxPed = Math.max(...run.intervals.map((i) => i.prednisoneEqMgPerDay));
    // Record uses count only to today; an order's planned course, or a prescription in force, reaches past it.
    const expected = run.endMs > asOfMs;
    // What the card counts as taken never includes a day still to come.
    const takenEndMs = onOrders ? run.endMs : Math.min(run.endMs, Math.max(run.startMs, startOfDay(asOfMs)));
    const takenDays = Math.round((takenEndMs - run.startMs) / DAY_MS);
    const focus = uses.filter((u) => u.focus);
    const measures = [
      medicationMeasure(
        'prednisone-equivalent-dose',
        maxPed,
        'mg/d',
        uses,
        say('formulaDose'),
        new Date(run.endMs).toISOString(),
      ),
      medicationMeasure(
        'glucocorticoid-exposure',
        takenDays,
        'd',
        uses,
        say('formulaExposure', { minimumMgPerDay: r.minPrednisoneEqMgPerDay, maxGapDays: r.maxGapDays }),
        new Date(takenEndMs).toISOString(),
      ),
    ].filter((m): m is Measure => !!m);

    const fa = r.fraxDoseAdjustment;
    const highDose = !under40 && maxPed > fa.aboveMgPerDay;
    const adjustment = {
      dose: fmt(maxPed),
      above: fa.aboveMgPerDay,
      major: fa.majorFractureFactor,
      hip: fa.hipFractureFactor,
    };
    return outcome.fired(
      ID,
      {
        ruleId: ID,
        indicator: r.indicator,
        summary: onOrders ? r.summaryOrder : under40 ? r.summaryUnder40 : r.summary,
        statements: [
          ...uses.map((u) => {
            const ing = glucocorticoidIngredient(u, r.triggers) as NonNullable<
              ReturnType<typeof glucocorticoidIngredient>
            >;
            const doses = run.intervals
              .filter((i) => i.use === u)
              .map((i) => i.how)
              .join(`; ${say('then')} `);
            return say('medicine', {
              order: u.origin === 'order' ? sharedText(k, 'beingOrdered') : '',
              medicine: u.name,
              reference: u.reference,
              doses,
              period: u.period.ok ? u.period.value.how : '',
              route: u.route.how,
              match: sharedText(k, 'recognisedBy', { match: describeMatch(ing) }),
            });
          }),
          say(expected ? 'courseExpected' : 'courseObserved', {
            minimumMgPerDay: r.minPrednisoneEqMgPerDay,
            days: Math.round(run.days),
            from: day(new Date(run.startMs).toISOString()),
            to: day(new Date(run.endMs).toISOString()),
            minDays: r.minDays,
          }),
          lastDxaText(ctx, r.dxaWithinMonths),
          under40
            ? say('under40', { age: age as number, fraxMinAge: r.fraxMinAgeYears })
            : age !== undefined
              ? say('frax', { age })
              : say('fraxAgeUnknown'),
          ...(highDose ? [say('fraxHighDose', adjustment)] : []),
          ...notes.map((n) => say('notCounted', { reason: n.text })),
        ],
        measures,
        context: [],
        caveats: [
          say('caveatCystatin'),
          say('caveatSupport'),
          say('caveatEquivalence', { provenance: k.glucocorticoidEquivalence.provenance }),
          ...(age === undefined ? [say('caveatAgeUnknown', { fraxMinAge: r.fraxMinAgeYears })] : []),
          ...care.caveats,
        ],
        citations: r.citations.map((id) => k.citations[id]).filter((x) => !!x),
        suggestions: [{ label: say('suggestDxaVfa'), orders: [k.orders['dxa-vfa']] }],
        ...(under40 ? {} : { links: links(r.links) }),
        about: (focus.length ? focus : uses).filter((u) => u.hasId).map((u) => u.reference),
        brief: {
          ...briefFrom(r.text),
          // Lines saying what could not be checked are never cut from the detail for length.
          unchecked: [
            ...(care.uncheckedLine ? [care.uncheckedLine] : []),
            ...care.overdueLines,
            ...(missing(c, 'bone-density').length ? [foundDxa(ctx, r.dxaWithinMonths)] : []),
          ],
          found: [
            say('found', {
              order: uses.some((u) => u.origin === 'order') ? sharedText(k, 'beingOrdered') : '',
              medicines: listOf(
                k,
                uses.map((u) => u.name),
              ),
              dose: fmt(maxPed),
              from: day(new Date(run.startMs).toISOString()),
              days: takenDays,
              minimumMgPerDay: r.minPrednisoneEqMgPerDay,
              to: day(new Date(takenEndMs).toISOString()),
            }),
            ...(expected && !onOrders
              ? [
                  say('foundPrescribed', {
                    to: day(new Date(run.endMs).toISOString()),
                    days: Math.round(run.days),
                    minDays: r.minDays,
                  }),
                ]
              : []),
            ...(care.uncheckedLine ? [care.uncheckedLine] : []),
            ...care.overdueLines,
            foundDxa(ctx, r.dxaWithinMonths),
            ...(under40 ? [say('foundUnder40', { age: age as number, fraxMinAge: r.fraxMinAgeYears })] : []),
          ],
          // Calcium and vitamin D are for everyone on the course; the FRAX step from 40, dose-adjusted when high.
          then: [
            ...(under40 ? [] : [highDose ? say('thenFraxHighDose', adjustment) : sharedText(k, 'calculateFrax')]),
            say('thenCalciumVitaminD'),
          ],
        },
      },
      notes,
    );
  },
};
