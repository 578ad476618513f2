import type { MeasureCode, PatientEvaluation, WithheldMeasure } from './types';

/**
 * Measures a rule reads, and must not be shown as a reading when that rule is suppressed for the patient: a
 * creatinine/cystatin C ratio with glucocorticoids, hyperthyroidism or eGFR below the minimum says nothing about
 * muscle, so neither the card nor the app may show it as a value against the threshold.
 */
const READ_BY: Partial<Record<string, MeasureCode[]>> = {
  'low-ccr': ['sarcopenia-index', 'ccr'],
  // Injected insulin is measured by the insulin assay; HOMA from it, or beside a secretagogue, pregnancy or a glucose
  // outside the model's range, describes no steady state [evidence: homa-exclusions].
  'homa-context': ['homa-ir', 'homa-beta'],
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
    for (const code of new Set([...(READ_BY[o.ruleId] ?? []), ...byReason])) {
      if (out.some((w) => w.code === code)) continue;
      if (e.measures.some((m) => m.code === code)) out.push({ code, ruleId: o.ruleId, reasons: o.reasons });
    }
  }
  return out;
}
