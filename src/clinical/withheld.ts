import type { MeasureCode, PatientEvaluation, WithheldMeasure } from './types';

/**
 * Measures a rule reads, and must not be shown as a reading when that rule is suppressed for the patient: a
 * creatinine/cystatin C ratio with glucocorticoids, hyperthyroidism or eGFR below the minimum says nothing about
 * muscle, so neither the card nor the app may show it as a value against the threshold.
 */
const READ_BY: Partial<Record<string, MeasureCode[]>> = {
  'low-ccr': ['sarcopenia-index', 'ccr'],
};

/** Computed measures that a suppressed rule withholds, with the suppression's reasons. */
export function withheldMeasures(e: PatientEvaluation): WithheldMeasure[] {
  const out: WithheldMeasure[] = [];
  for (const o of e.outcomes) {
    const codes = READ_BY[o.ruleId];
    // A rule superseded by a stronger card is not withheld: its measures travel on that card.
    if (!codes || o.status !== 'suppressed' || o.reasons.some((r) => r.code === 'superseded')) continue;
    for (const code of codes) {
      if (e.measures.some((m) => m.code === code)) out.push({ code, ruleId: o.ruleId, reasons: o.reasons });
    }
  }
  return out;
}
