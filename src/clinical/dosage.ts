import type { Dosage, Duration, Period, Quantity, Timing } from 'fhir/r4';
import { parseFhirInstant } from './dates';

/*
 * Daily amount from FHIR R4 Dosage: doseAndRate.dose[x] × times per day from Timing. Every figure says how it
 * was reached, so a card can show the arithmetic. Anything ambiguous is "unknown" with the reason, never a guess.
 */

const DAY_MS = 86_400_000;

/** Days per UCUM unit of time as FHIR Timing and Duration use them (a month and a year as calendar averages). */
const DAYS_PER: Record<string, number> = {
  s: 1 / 86_400, min: 1 / 1_440, h: 1 / 24, d: 1, wk: 7, mo: 30.4375, a: 365.25,
};

/** HL7 GTS abbreviations EHRs put in Timing.code instead of Timing.repeat (http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation). */
const TIMING_CODE_PER_DAY: Record<string, number> = {
  QD: 1, BID: 2, TID: 3, QID: 4, AM: 1, PM: 1, QOD: 0.5, Q4H: 6, Q6H: 4, Q8H: 3, WK: 1 / 7, MO: 1 / 30.4375,
};

/** Mass units a dose can be given in, as mg per unit. Doses in tablets need the product's strength. */
const MG_PER: Record<string, number> = { mg: 1, g: 1000, ug: 0.001, mcg: 0.001, 'µg': 0.001, ng: 0.000001 };

export type Known<T> = { ok: true; value: T; how: string } | { ok: false; why: string };

export function daysOf(d: Duration | undefined): number | undefined {
  if (!d || typeof d.value !== 'number') return undefined;
  const per = DAYS_PER[d.code ?? d.unit ?? ''];
  return per === undefined ? undefined : d.value * per;
}

export function periodDays(p: Period | undefined): number | undefined {
  const s = parseFhirInstant(p?.start);
  const e = parseFhirInstant(p?.end);
  return s === undefined || e === undefined || e < s ? undefined : (e - s) / DAY_MS;
}

function fmt(n: number): string {
  return Number(n.toPrecision(4)).toString();
}

/** Times per day a Timing asks for. */
export function timesPerDay(t: Timing | undefined): Known<number> {
  const r = t?.repeat;
  if (r && (r.frequency !== undefined || r.period !== undefined)) {
    const frequency = r.frequency ?? 1;
    const period = r.period ?? 1;
    const per = DAYS_PER[r.periodUnit ?? 'd'];
    if (per === undefined || period <= 0) return { ok: false, why: `timing period unit "${r.periodUnit ?? ''}" is not understood` };
    const v = frequency / (period * per);
    const maxNote = r.frequencyMax !== undefined ? ` (frequencyMax ${r.frequencyMax} not used)` : '';
    return { ok: true, value: v, how: `${frequency} per ${period} ${r.periodUnit ?? 'd'}${maxNote}` };
  }
  if (r?.when?.length) return { ok: true, value: r.when.length, how: `${r.when.length} a day (${r.when.join(', ')})` };
  const code = t?.code?.coding?.map((c) => c.code).find((c): c is string => !!c && c.toUpperCase() in TIMING_CODE_PER_DAY);
  if (code) return { ok: true, value: TIMING_CODE_PER_DAY[code.toUpperCase()] as number, how: code.toUpperCase() };
  return { ok: false, why: 'no timing frequency' };
}

function unitOf(q: Quantity): string {
  return (q.code ?? q.unit ?? '').trim();
}

/**
 * A single administration in mg of the ingredient. A mass unit converts directly; a count (tablet, capsule, 1)
 * needs the strength of one unit from the Medication (`mgPerUnit`).
 */
export function doseMg(d: Dosage, mgPerUnit?: { mg: number; how: string }): Known<number> {
  const dr = d.doseAndRate?.[0];
  const q = dr?.doseQuantity ?? dr?.doseRange?.low;
  if (!q || typeof q.value !== 'number') return { ok: false, why: 'no dose quantity' };
  const range = dr?.doseRange ? ' (low end of the dose range)' : '';
  const unit = unitOf(q);
  const factor = MG_PER[unit] ?? MG_PER[unit.toLowerCase()];
  if (factor !== undefined) {
    return { ok: true, value: q.value * factor, how: `${fmt(q.value)} ${unit}${range}` };
  }
  if (mgPerUnit) {
    return { ok: true, value: q.value * mgPerUnit.mg, how: `${fmt(q.value)} ${unit || 'unit'} × ${mgPerUnit.how}${range}` };
  }
  return { ok: false, why: `dose is in "${unit || 'units'}" and the product strength is not stated` };
}

export interface DoseStep {
  /** Ingredient mg per day over this step. */
  mgPerDay: number;
  how: string;
  /** Step length when the timing bounds it (tapers); undefined runs to the end of the order. */
  days?: number;
}

/**
 * Daily ingredient dose, step by step. Dosage lines with the same `sequence` (or none) run together and add up
 * (10 mg in the morning + 5 mg at night); different sequences follow each other (a taper).
 */
export function doseSteps(dosages: Dosage[] | undefined, mgPerUnit?: { mg: number; how: string }): Known<DoseStep[]> {
  const lines = (dosages ?? []).filter((d) => d.asNeededBoolean !== true && !d.asNeededCodeableConcept);
  if (!dosages?.length) return { ok: false, why: 'no dosage instructions' };
  if (!lines.length) return { ok: false, why: 'taken as needed only: no regular daily dose' };
  const bySeq = new Map<number, Dosage[]>();
  for (const d of lines) {
    const k = d.sequence ?? 0;
    bySeq.set(k, [...(bySeq.get(k) ?? []), d]);
  }
  const steps: DoseStep[] = [];
  for (const [, group] of [...bySeq.entries()].sort((a, b) => a[0] - b[0])) {
    let mgPerDay = 0;
    const hows: string[] = [];
    let days: number | undefined;
    for (const d of group) {
      const dose = doseMg(d, mgPerUnit);
      if (!dose.ok) return dose;
      const tpd = timesPerDay(d.timing);
      if (!tpd.ok) return tpd;
      mgPerDay += dose.value * tpd.value;
      hows.push(`${dose.how} × ${tpd.how}`);
      days ??= daysOf(d.timing?.repeat?.boundsDuration) ?? periodDays(d.timing?.repeat?.boundsPeriod);
    }
    steps.push({ mgPerDay, how: hows.join(' + '), ...(days !== undefined ? { days } : {}) });
  }
  return { ok: true, value: steps, how: steps.map((s) => s.how).join(', then ') };
}
