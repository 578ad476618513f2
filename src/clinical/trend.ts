import { subtractMonths } from './dates';
import type { Knowledge } from './knowledge';
import { computeMeasures, MEASURE_ORDER } from './measures';
import { type Pair, pairsDrawnTogether } from './observations';
import { fastingDraw, type Selection } from './selection';
import type { LabValue, Measure, MeasureCode, PatientFacts } from './types';

/** One point of a trend: the measure exactly as the engine computes it, from one draw. */
export interface TrendPoint extends Measure {
  /** Every input is inside the look-back window the rules use (older points are history only). */
  inLookback: boolean;
}

export type MeasureTrends = Record<MeasureCode, TrendPoint[]>;

const NO_LABS: Selection['inWindow'] = {
  creatinine: [],
  'cystatin-c': [],
  insulin: [],
  glucose: [],
  crp: [],
  bmi: [],
  'body-weight': [],
  'body-height': [],
  'vitamin-d': [],
  tsh: [],
  'free-t4': [],
};

/**
 * Splits results into draws with the engine's own pairing rule, newest first: the first draw is the pair
 * `selectInputs` would choose, then the newest pair among what is left, and so on. Each result joins one draw.
 */
export function draws(
  as: LabValue[],
  bs: LabValue[],
  maxGapMs: number,
  accept?: (a: LabValue, b: LabValue) => boolean,
): Pair[] {
  const used = new Set<LabValue>();
  const out: Pair[] = [];
  // Best first, so the first pair whose results are both still free is the newest pair among what is left.
  for (const p of pairsDrawnTogether(as, bs, maxGapMs, Number.NEGATIVE_INFINITY, accept)) {
    if (used.has(p.a) || used.has(p.b)) continue;
    used.add(p.a);
    used.add(p.b);
    out.push(p);
  }
  return out;
}

/**
 * Every measure over time: each creatinine and each cystatin C alone (single-marker eGFRs), each same-draw
 * creatinine–cystatin C pair (ratio, sarcopenia index, eGFRcr-cys) and each fasting insulin–glucose draw (HOMA).
 * Each point comes from `computeMeasures`, so the trend and the engine share one copy of every formula and
 * every eligibility check (adult age at the specimen, known sex, glucose above 3.5 mmol/L). Oldest first.
 */
export function measureTrends(patient: PatientFacts, labs: LabValue[], k: Knowledge, asOf: Date): MeasureTrends {
  const sinceMs = subtractMonths(asOf, k.lookbackMonths).getTime();
  const of = (a: LabValue['analyte']) => labs.filter((l) => l.analyte === a);
  const measuresFor = (
    inWindow: Partial<Selection['inWindow']>,
    pairs: Pick<Selection, 'ccrPair' | 'homaPair'>,
  ): Measure[] =>
    computeMeasures(
      patient,
      { sinceMs, inWindow: { ...NO_LABS, ...inWindow }, onlyNonFastingHoma: false, ...pairs },
      k,
    );

  const points: Measure[] = [];
  const keep = (ms: Measure[], codes: MeasureCode[]) => points.push(...ms.filter((m) => codes.includes(m.code)));
  for (const c of of('creatinine')) keep(measuresFor({ creatinine: [c] }, {}), ['egfr-cr-2021']);
  for (const y of of('cystatin-c')) keep(measuresFor({ 'cystatin-c': [y] }, {}), ['egfr-cys-2012']);
  for (const { a: c, b: y } of draws(
    of('creatinine'),
    of('cystatin-c'),
    k.pairing.creatinineCystatinMaxHours * 3_600_000,
  )) {
    keep(measuresFor({ creatinine: [c], 'cystatin-c': [y] }, { ccrPair: { creatinine: c, cystatin: y } }), [
      'sarcopenia-index',
      'ccr',
      'egfr-cr-cys-2021',
    ]);
  }
  const homaGap = k.pairing.insulinGlucoseMaxMinutes * 60_000;
  for (const { a: i, b: g } of draws(of('insulin'), of('glucose'), homaGap, fastingDraw)) {
    keep(measuresFor({ insulin: [i], glucose: [g] }, { homaPair: { insulin: i, glucose: g } }), [
      'homa-ir',
      'homa-beta',
    ]);
  }

  const trends = Object.fromEntries(MEASURE_ORDER.map((code) => [code, [] as TrendPoint[]])) as MeasureTrends;
  for (const m of points) trends[m.code].push({ ...m, inLookback: m.inputs.every((l) => l.effectiveMs >= sinceMs) });
  const at = (m: Measure) => Math.max(...m.inputs.map((l) => l.effectiveMs));
  for (const list of Object.values(trends)) list.sort((a, b) => at(a) - at(b));
  return trends;
}
