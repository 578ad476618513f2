import { subtractMonths } from './dates';
import type { Knowledge } from './knowledge';
import { newestPair } from './observations';
import type { LabValue } from './types';

/** Which results feed the measures: the newest same-draw pairs inside the look-back window. */
export interface Selection {
  sinceMs: number;
  inWindow: Record<LabValue['analyte'], LabValue[]>;
  ccrPair?: { creatinine: LabValue; cystatin: LabValue };
  homaPair?: { insulin: LabValue; glucose: LabValue };
  /** Insulin and glucose were drawn together, but no such draw was fasting. */
  onlyNonFastingHoma: boolean;
}

/**
 * Each result vouches only for itself: an insulin coded fasting does not make a glucose drawn near it fasting
 * (a post-load glucose of an OGTT sits beside the fasting insulin).
 */
export const fastingDraw = (a: LabValue, b: LabValue): boolean => a.fasting && b.fasting;

/**
 * HOMA's pair: the newest fasting insulin, with the fasting glucose of the same draw (same specimen, else the
 * closest in time within the pairing window).
 */
export function homaPairOf(
  insulins: LabValue[],
  glucoses: LabValue[],
  maxGapMs: number,
  sinceMs: number,
): { insulin: LabValue; glucose: LabValue } | undefined {
  const ins = insulins
    .filter((i) => i.fasting && i.effectiveMs >= sinceMs)
    .sort((a, b) => b.effectiveMs - a.effectiveMs);
  for (const insulin of ins) {
    const partners = glucoses
      .filter((g) => g.fasting && g.effectiveMs >= sinceMs)
      .map((g) => ({
        g,
        same: !!insulin.specimen && insulin.specimen === g.specimen && !insulin.specimen.startsWith('#'),
        gap: Math.abs(g.effectiveMs - insulin.effectiveMs),
      }))
      .filter((p) => p.same || p.gap <= maxGapMs)
      .sort((x, y) => Number(y.same) - Number(x.same) || x.gap - y.gap);
    if (partners[0]) return { insulin, glucose: partners[0].g };
  }
  return undefined;
}

export function selectInputs(labs: LabValue[], k: Knowledge, asOf: Date): Selection {
  const sinceMs = subtractMonths(asOf, k.lookbackMonths).getTime();
  const by = (a: LabValue['analyte']) => labs.filter((l) => l.analyte === a && l.effectiveMs >= sinceMs);
  const inWindow = {
    creatinine: by('creatinine'),
    'cystatin-c': by('cystatin-c'),
    insulin: by('insulin'),
    glucose: by('glucose'),
    crp: by('crp'),
    bmi: by('bmi'),
    'body-weight': by('body-weight'),
    'body-height': by('body-height'),
    'vitamin-d': by('vitamin-d'),
    tsh: by('tsh'),
    'free-t4': by('free-t4'),
  };

  const cc = newestPair(
    inWindow.creatinine,
    inWindow['cystatin-c'],
    k.pairing.creatinineCystatinMaxHours * 3_600_000,
    sinceMs,
  );
  const homaGap = k.pairing.insulinGlucoseMaxMinutes * 60_000;
  const fasting = homaPairOf(inWindow.insulin, inWindow.glucose, homaGap, sinceMs);
  const any = fasting ? undefined : newestPair(inWindow.insulin, inWindow.glucose, homaGap, sinceMs);

  return {
    sinceMs,
    inWindow,
    ...(cc ? { ccrPair: { creatinine: cc.a, cystatin: cc.b } } : {}),
    ...(fasting ? { homaPair: fasting } : {}),
    onlyNonFastingHoma: !!any,
  };
}
