/**
 * What calibrate keeps about a population: counts only, keyed by category, and CCR histograms at fixed 0.001 bins.
 * Every field merges by addition (or min/max), so shards merged in any order equal one run over all patients.
 * Nothing here names a patient; small cells are hidden later, when the numbers are summarised for people.
 */
import type { Observation, Resource } from 'fhir/r4';
import { ageOn, type Knowledge, type PatientEvaluation } from '../clinical';
import { addTo, binOf, type Histogram, mergeHistograms } from './stats';

export const LOW_CCR = 'low-ccr';

export type Counts = Record<string, number>;

export interface Aggregates {
  format: 'crosstalk-calibrate-aggregates/1';
  patients: number;
  /** `${sex}|${ageBand}` → patients. */
  bySexAge: Counts;
  /** `${ruleId}|${status}|${reason code}` → patients (reason code empty for a rule that fired). */
  outcomes: Counts;
  /** ruleId → cards the service would show (one card per finding). */
  cards: Counts;
  patientsWithCards: number;
  /**
   * CCR of every patient the low-CCR rule judged against its threshold, by `${sex}|${ageBand}|${company}`:
   * company says what else fired, so the cards under another threshold can be counted exactly (one card per
   * patient, held by the first rule that fired): `alone` (nothing else fired), `folded` (a rule ahead of low-CCR
   * fired: it holds the card whatever the CCR), `ahead:<rule>` (low-CCR holds the card when it fires, else <rule>).
   */
  ccr: Record<string, Histogram>;
  /** `${analyte}|${unit as written}|${recognised ? 'yes' : 'no'}` → results. */
  units: Counts;
  /** `${analyte}|${why}` → results the engine did not accept. */
  rejected: Counts;
  /** `${system}|${code}` → Observations whose code no part of the knowledge reads. */
  unknownCodes: Counts;
  /** Resources whose subject is not a Patient in the input. */
  orphanResources: number;
  /** First and last month (YYYY-MM) of the draws behind the judged CCRs. */
  drawMonths: { from?: string; to?: string };
}

export function emptyAggregates(): Aggregates {
  return {
    format: 'crosstalk-calibrate-aggregates/1',
    patients: 0,
    bySexAge: {},
    outcomes: {},
    cards: {},
    patientsWithCards: 0,
    ccr: {},
    units: {},
    rejected: {},
    unknownCodes: {},
    orphanResources: 0,
    drawMonths: {},
  };
}

function addCounts(a: Counts, b: Counts): Counts {
  const out: Counts = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function inc(c: Counts, key: string, n = 1): void {
  c[key] = (c[key] ?? 0) + n;
}

const minMonth = (a?: string, b?: string) => (a === undefined ? b : b === undefined ? a : a < b ? a : b);
const maxMonth = (a?: string, b?: string) => (a === undefined ? b : b === undefined ? a : a > b ? a : b);

export function mergeAggregates(a: Aggregates, b: Aggregates): Aggregates {
  const ccr: Record<string, Histogram> = { ...a.ccr };
  for (const [k, h] of Object.entries(b.ccr)) ccr[k] = mergeHistograms(ccr[k] ?? {}, h);
  const from = minMonth(a.drawMonths.from, b.drawMonths.from);
  const to = maxMonth(a.drawMonths.to, b.drawMonths.to);
  return {
    format: a.format,
    patients: a.patients + b.patients,
    bySexAge: addCounts(a.bySexAge, b.bySexAge),
    outcomes: addCounts(a.outcomes, b.outcomes),
    cards: addCounts(a.cards, b.cards),
    patientsWithCards: a.patientsWithCards + b.patientsWithCards,
    ccr,
    units: addCounts(a.units, b.units),
    rejected: addCounts(a.rejected, b.rejected),
    unknownCodes: addCounts(a.unknownCodes, b.unknownCodes),
    orphanResources: a.orphanResources + b.orphanResources,
    drawMonths: { ...(from ? { from } : {}), ...(to ? { to } : {}) },
  };
}

/** The same as mergeAggregates, adding `b` into `a` in place: the running total of a run makes no garbage. */
export function mergeInto(a: Aggregates, b: Aggregates): void {
  a.patients += b.patients;
  a.patientsWithCards += b.patientsWithCards;
  a.orphanResources += b.orphanResources;
  for (const f of ['bySexAge', 'outcomes', 'cards', 'units', 'rejected', 'unknownCodes'] as const) {
    for (const [k, v] of Object.entries(b[f])) inc(a[f], k, v);
  }
  for (const [k, h] of Object.entries(b.ccr)) {
    const into = (a.ccr[k] ??= {});
    for (const [bin, v] of Object.entries(h)) into[bin] = (into[bin] ?? 0) + v;
  }
  const from = minMonth(a.drawMonths.from, b.drawMonths.from);
  const to = maxMonth(a.drawMonths.to, b.drawMonths.to);
  if (from) a.drawMonths.from = from;
  if (to) a.drawMonths.to = to;
}

export const AGE_BANDS = ['18-49', '50-59', '60-69', '70-79', '80+'] as const;

export function ageBand(age: number | undefined): string {
  if (age === undefined) return 'unknown';
  if (age < 18) return '<18';
  if (age < 50) return '18-49';
  if (age >= 80) return '80+';
  const lo = Math.floor(age / 10) * 10;
  return `${lo}-${lo + 9}`;
}

/**
 * A rejection reason in words without the values in it: the category a data-quality table can count. The engine's
 * reasons quote the value and unit of the result, which must not reach an aggregate output.
 */
export function rejectionCategory(reason: string): { category: string; unitProblem: boolean } {
  const status = /^status "([^"]*)"/.exec(reason);
  if (status) return { category: `status "${status[1]}" (not final, amended or corrected)`, unitProblem: false };
  const bound = /^reported as a bound \("(<=|>=|<|>)/.exec(reason);
  if (bound) return { category: `reported as a bound (${bound[1]}), not a value`, unitProblem: false };
  if (/is not a UCUM unit/.test(reason)) return { category: 'unit not recognised', unitProblem: true };
  if (/^cannot convert/.test(reason))
    return { category: 'unit cannot be converted to the canonical unit', unitProblem: true };
  if (/outside plausible range/.test(reason))
    return { category: 'value outside the plausible range', unitProblem: false };
  if (/^no specimen date/.test(reason)) return { category: 'no specimen date', unitProblem: false };
  if (/^no numeric/.test(reason)) return { category: 'no numeric value', unitProblem: false };
  if (/^dated .* after the evaluation time/.test(reason))
    return { category: 'dated after the evaluation time', unitProblem: false };
  if (/^belongs to another patient/.test(reason)) return { category: 'belongs to another patient', unitProblem: false };
  return { category: 'other', unitProblem: false };
}

/** The codes any part of the knowledge reads on an Observation: analytes and the observation code set. */
export function knownObservationCodes(k: Knowledge): Set<string> {
  const known = new Set<string>();
  for (const a of Object.values(k.analytes)) for (const c of a.codes ?? []) known.add(`${c.system}|${c.code}`);
  for (const c of k.codesets.observations?.concepts ?? []) for (const x of c.codes) known.add(`${x.system}|${x.code}`);
  return known;
}

/** Did the low-CCR rule reach its threshold? Then the patient belongs to the population the threshold judges. */
export function judgedCcr(e: PatientEvaluation): number | undefined {
  const o = e.outcomes.find((x) => x.ruleId === LOW_CCR);
  if (!o) return undefined;
  const judged =
    o.status === 'fired' ||
    (o.status === 'not-met' && o.reasons.some((r) => r.code === 'ccr-not-low')) ||
    // A stronger card took the low-CCR finding over: it fired, so it was judged.
    (o.status === 'suppressed' && o.reasons.length > 0 && o.reasons.every((r) => r.code === 'superseded'));
  if (!judged) return undefined;
  return e.measures.find((m) => m.code === 'ccr')?.value;
}

/** Adds one evaluated patient (and the resources it was evaluated from) to the aggregates. */
export function addPatient(
  agg: Aggregates,
  e: PatientEvaluation,
  resources: readonly Resource[],
  env: { known: Set<string> },
): void {
  agg.patients += 1;
  const sex = e.patient.sex ?? 'unknown';
  const band = ageBand(ageOn(e.patient.birthDate, e.asOf));
  inc(agg.bySexAge, `${sex}|${band}`);
  for (const o of e.outcomes) {
    if (o.status === 'fired') inc(agg.outcomes, `${o.ruleId}|fired|`);
    else for (const code of new Set(o.reasons.map((r) => r.code))) inc(agg.outcomes, `${o.ruleId}|${o.status}|${code}`);
    if (o.status !== 'fired' && o.reasons.length === 0) inc(agg.outcomes, `${o.ruleId}|${o.status}|`);
  }
  // renderCards makes exactly one card per finding; the count is the cards the service would return.
  for (const f of e.findings) inc(agg.cards, f.ruleId);
  if (e.findings.length) agg.patientsWithCards += 1;

  const ccr = judgedCcr(e);
  if (ccr !== undefined && e.patient.sex) {
    // The engine gives one card per patient: the first rule (in rule order) that fired takes the others' findings.
    // What else fired, and where it stands against low-CCR, says who holds the card under any threshold.
    const at = e.outcomes.findIndex((o) => o.ruleId === LOW_CCR);
    const first = e.outcomes.findIndex(
      (o, j) =>
        j !== at &&
        (o.status === 'fired' || (o.status === 'suppressed' && o.reasons.some((r) => r.code === 'superseded'))),
    );
    const company = first < 0 ? 'alone' : first < at ? 'folded' : `ahead:${e.outcomes[first]?.ruleId ?? ''}`;
    const key = `${e.patient.sex}|${band}|${company}`;
    addTo((agg.ccr[key] ??= {}), binOf(ccr));
    const when = e.measures.find((m) => m.code === 'ccr')?.effective?.slice(0, 7);
    if (when) {
      agg.drawMonths.from = minMonth(agg.drawMonths.from, when);
      agg.drawMonths.to = maxMonth(agg.drawMonths.to, when);
    }
  }

  const observations = new Map<string, Observation>();
  for (const r of resources) {
    if (r.resourceType !== 'Observation') continue;
    const obs = r as Observation;
    observations.set(`Observation/${obs.id ?? '(no id)'}`, obs);
    const codings = obs.code?.coding ?? [];
    if (codings.length && !codings.some((c) => env.known.has(`${c.system}|${c.code}`))) {
      const c = codings[0];
      inc(agg.unknownCodes, `${c?.system ?? '(no system)'}|${c?.code ?? '(no code)'}`);
    }
  }
  for (const l of e.labs) inc(agg.units, `${l.analyte}|${l.original.unit}|yes`);
  for (const r of e.rejected) {
    const { category, unitProblem } = rejectionCategory(r.reason);
    inc(agg.rejected, `${r.analyte ?? 'unknown'}|${category}`);
    if (unitProblem) {
      const q = observations.get(r.reference)?.valueQuantity;
      inc(agg.units, `${r.analyte ?? 'unknown'}|${q?.unit ?? q?.code ?? '(none)'}|no`);
    }
  }
}
