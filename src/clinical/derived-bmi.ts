import { subtractMonths } from './dates';
import { round } from './format';
import type { Knowledge } from './knowledge';
import type { LabValue, RejectedObservation } from './types';

/*
 * Many records hold a weight and a height at every visit and no BMI result. With no BMI in the look-back, BMI is
 * derived as weight (kg) ÷ height (m)² [evidence: derived-bmi] and joins the labs, so every rule that reads BMI
 * reads it, naming both results. A weight or height that could not be read, where no derived BMI is newer, makes
 * the BMI "could not be checked", never "not on file".
 */

const BMI_UNIT = 'kg/m2';

export function deriveBmi(
  labs: LabValue[],
  rejected: RejectedObservation[],
  k: Knowledge,
  asOf: Date,
): { labs: LabValue[]; rejected: RejectedObservation[] } {
  const sinceMs = subtractMonths(asOf, k.lookbackMonths).getTime();
  const inWindow = (ms: number | undefined) => ms !== undefined && ms >= sinceMs && ms <= asOf.getTime();
  if (labs.some((l) => l.analyte === 'bmi' && inWindow(l.effectiveMs))) return { labs: [], rejected: [] };
  const heightMs = (months: number, at: number) => at - subtractMonths(new Date(at), months).getTime();
  const weights = labs.filter((l) => l.analyte === 'body-weight' && inWindow(l.effectiveMs));
  const heights = labs.filter((l) => l.analyte === 'body-height');
  let derived: LabValue | undefined;
  for (const w of [...weights].sort((a, b) => b.effectiveMs - a.effectiveMs)) {
    const span = heightMs(k.derivedBmi.heightWithinMonths, w.effectiveMs);
    const h = heights
      .filter((x) => Math.abs(x.effectiveMs - w.effectiveMs) <= span)
      .sort((a, b) => Math.abs(a.effectiveMs - w.effectiveMs) - Math.abs(b.effectiveMs - w.effectiveMs))[0];
    if (!h) continue;
    const value = w.value / (h.value * h.value);
    derived = {
      analyte: 'bmi',
      reference: `${w.reference}, ${h.reference}`,
      code: k.analytes.bmi.codes[0]?.code ?? '',
      value,
      unit: BMI_UNIT,
      original: { value, unit: BMI_UNIT },
      effective: w.effective,
      effectiveMs: w.effectiveMs,
      fasting: false,
      derivedFrom: [w.reference, h.reference],
      derivation: `weight ${round(w.value, 'kg')} kg ÷ (height ${round(h.value, 'm')} m)² = ${round(value, BMI_UNIT)} kg/m²`,
    };
    break;
  }
  // A weight or height that could not be read, newer than any BMI derived here, leaves the BMI open.
  const unread = rejected.filter(
    (r) =>
      (r.analyte === 'body-weight' || r.analyte === 'body-height') &&
      r.unreadable &&
      !r.otherPatient &&
      inWindow(r.effectiveMs) &&
      (!derived || (r.effectiveMs ?? 0) > derived.effectiveMs),
  );
  return {
    labs: derived ? [derived] : [],
    rejected: unread.map((r) => ({
      reference: r.reference,
      analyte: 'bmi',
      reason: `BMI could not be derived: ${k.analytes[r.analyte as 'body-weight'].display.toLowerCase()} ${r.reason}`,
      ...(r.effective ? { effective: r.effective } : {}),
      ...(r.effectiveMs !== undefined ? { effectiveMs: r.effectiveMs } : {}),
      unreadable: true,
    })),
  };
}
