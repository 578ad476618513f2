import type { Knowledge } from './knowledge';
import type { LabValue } from './types';
import { newestPair } from './observations';
import { subtractMonths } from './dates';

/** Which results feed the measures: the newest same-draw pairs inside the look-back window. */
export interface Selection {
  sinceMs: number;
  inWindow: Record<LabValue['analyte'], LabValue[]>;
  ccrPair?: { creatinine: LabValue; cystatin: LabValue };
  homaPair?: { insulin: LabValue; glucose: LabValue };
  /** Insulin and glucose were drawn together, but no such draw was fasting. */
  onlyNonFastingHoma: boolean;
}

/** One draw has one fasting state, so either result's fasting code vouches for both. */
export const fastingDraw = (a: LabValue, b: LabValue): boolean => a.fasting || b.fasting;

export function selectInputs(labs: LabValue[], k: Knowledge, asOf: Date): Selection {
  const sinceMs = subtractMonths(asOf, k.lookbackMonths).getTime();
  const by = (a: LabValue['analyte']) => labs.filter((l) => l.analyte === a && l.effectiveMs >= sinceMs);
  const inWindow = {
    creatinine: by('creatinine'), 'cystatin-c': by('cystatin-c'), insulin: by('insulin'), glucose: by('glucose'),
    crp: by('crp'), bmi: by('bmi'), 'vitamin-d': by('vitamin-d'),
  };

  const cc = newestPair(inWindow.creatinine, inWindow['cystatin-c'], k.pairing.creatinineCystatinMaxHours * 3_600_000, sinceMs);
  const homaGap = k.pairing.insulinGlucoseMaxMinutes * 60_000;
  const fasting = newestPair(inWindow.insulin, inWindow.glucose, homaGap, sinceMs, fastingDraw);
  const any = fasting ? undefined : newestPair(inWindow.insulin, inWindow.glucose, homaGap, sinceMs);

  return {
    sinceMs,
    inWindow,
    ...(cc ? { ccrPair: { creatinine: cc.a, cystatin: cc.b } } : {}),
    ...(fasting ? { homaPair: { insulin: fasting.a, glucose: fasting.b } } : {}),
    onlyNonFastingHoma: !!any,
  };
}
