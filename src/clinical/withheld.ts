import type { MeasureCode, PatientEvaluation, WithheldMeasure } from './types';

/**
 * Measures a rule reads, and must not be shown as a reading when that rule is suppressed for the patient: a
 * creatinine/cystatin C ratio with glucocorticoids, hyperthyroidism or eGFR below the minimum says nothing about
 * muscle, so neither the card nor the app may show it as a value against the threshold.
 */
const READ_BY: Partial<Record<string, MeasureCode[]>> = {
  'low-ccr': ['sarcopenia-index', 'ccr'],
};

/**
 * Measures a rule withholds only for some of its reasons: injected insulin is measured by the insulin assay, and
 * with a secretagogue, glucocorticoids, pregnancy or type 1 diabetes HOMA describes no steady state, so HOMA-IR and
 * HOMA-β are no reading at all [evidence: homa-exclusions]. A glucose outside the model's range only qualifies them.
 */
const READ_BY_FOR: Partial<Record<string, { measures: MeasureCode[]; reasons: string[] }>> = {
  'homa-context': { measures: ['homa-ir', 'homa-beta'], reasons: ['interfering-medication', 'interfering-condition'] },
};

/**
 * Measures that a suppression's reason makes unreadable whichever rule gives it: a creatinine that is not in a steady
 * state (rising or falling by a KDIGO AKI magnitude) makes every creatinine-based eGFR meaningless too
 * [evidence: kdigo-2012-aki].
 */
const UNREADABLE_BY_REASON: Partial<Record<string, MeasureCode[]>> = {
  'aki-pattern': ['egfr-cr-2021', 'egfr-cr-cys-2021'],
};

/** Computed measures that a suppressed rule withholds, with the suppression's reasons. */
export function withheldMeasures(e: PatientEvaluation): WithheldMeasure[] {
  const out: WithheldMeasure[] = [];
  for (const o of e.outcomes) {
    // A rule superseded by a stronger card is not withheld: its measures travel on that card.
    if (o.status !== 'suppressed' || o.reasons.some((r) => r.code === 'superseded')) continue;
    const byReason = o.reasons.flatMap((r) => UNREADABLE_BY_REASON[r.code] ?? []);
    const some = READ_BY_FOR[o.ruleId];
    const bySome = some && o.reasons.some((r) => some.reasons.includes(r.code)) ? some.measures : [];
    for (const code of new Set([...(READ_BY[o.ruleId] ?? []), ...byReason, ...bySome])) {
      if (out.some((w) => w.code === code)) continue;
      if (e.measures.some((m) => m.code === code)) out.push({ code, ruleId: o.ruleId, reasons: o.reasons });
    }
  }
  return out;
}
