import type { Dosage, Duration, Period, Quantity, Timing } from 'fhir/r4';
import { DAY_MS, parseFhirInstant } from './dates';
import { significant } from './format';
import { mgPerMassUnit } from './units';

/*
 * Daily amount from FHIR R4 Dosage: doseAndRate.dose[x] (in mg, or in product units × the product's strength)
 * × administrations per day from Timing, over as many days as the Timing allows. Every figure says how it was
 * reached, so a card can show the arithmetic. Anything ambiguous is "unknown" with the reason, never a guess.
 */

/** Days per UCUM unit of time as FHIR Timing and Duration use them (a month and a year as calendar averages). */
const DAYS_PER: Record<string, number> = {
  s: 1 / 86_400,
  min: 1 / 1_440,
  h: 1 / 24,
  d: 1,
  wk: 7,
  mo: 30.4375,
  a: 365.25,
};

/** HL7 GTS abbreviations EHRs put in Timing.code instead of Timing.repeat (http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation). */
const TIMING_CODE_PER_DAY: Record<string, number> = {
  QD: 1,
  BID: 2,
  TID: 3,
  QID: 4,
  AM: 1,
  PM: 1,
  QOD: 0.5,
  Q4H: 6,
  Q6H: 4,
  Q8H: 3,
  WK: 1 / 7,
  MO: 1 / 30.4375,
};

/** `unreadable`: the record states a value that could not be read (a dose unit that cannot be converted), not one left out. */
export type Known<T> = { ok: true; value: T; how: string } | { ok: false; why: string; unreadable?: boolean };

/** mg of the ingredient in one unit of what the dose is counted in (a tablet, a mL), and where that came from. */
export interface UnitStrength {
  mgPerUnit: number;
  how: string;
  /** Read from a product's display name, not from a coded source: the card says so. */
  fromName?: boolean;
}

/** Finds the strength for a dose given in `unit` (e.g. "TAB", "mL"); undefined when no source states it. */
export type StrengthFor = (unit: string) => UnitStrength | undefined;

/** mg per unit of a mass unit (UCUM, via units.ts); undefined for tablets, mL and the like, which need the product's strength. */
export function massMgPer(unit: string): number | undefined {
  return mgPerMassUnit(unit);
}

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

const fmt = (n: number): string => significant(n, 4);

/**
 * Administrations per day a Timing asks for. `repeat.frequency`/`period` first; `dayOfWeek` keeps only the days
 * named (5 mg Mon/Wed/Fri is 3 doses a week); without a frequency, one dose per `when` or `timeOfDay` entry;
 * then an HL7 timing code. A timing with only `count` is that many single doses (a one-off injection).
 */
export function timesPerDay(t: Timing | undefined): Known<number> {
  const r = t?.repeat;
  const days = r?.dayOfWeek?.length ?? 0;
  if (r && (r.frequency !== undefined || r.period !== undefined)) {
    const frequency = r.frequency ?? 1;
    const period = r.period ?? 1;
    const unit = r.periodUnit ?? 'd';
    const per = DAYS_PER[unit];
    if (per === undefined || period <= 0)
      return { ok: false, why: `timing period unit "${r.periodUnit ?? ''}" is not understood`, unreadable: true };
    const maxNote = r.frequencyMax !== undefined ? ` (frequencyMax ${r.frequencyMax} not used)` : '';
    if (days) {
      // A daily frequency applies on the named days only; a weekly one is spread over them (at least one a day named).
      const perWeek =
        period * per <= 1 ? (frequency / (period * per)) * days : Math.max(frequency, days) / ((period * per) / 7);
      const v = perWeek / 7;
      return {
        ok: true,
        value: v,
        how: `${frequency} per ${period} ${unit} on ${r.dayOfWeek?.join('/')} only (${fmt(perWeek)} a week)${maxNote}`,
      };
    }
    return { ok: true, value: frequency / (period * per), how: `${frequency} per ${period} ${unit}${maxNote}` };
  }
  const slots = r?.when?.length ? r.when : r?.timeOfDay?.length ? r.timeOfDay : undefined;
  if (slots) {
    const v = days ? (slots.length * days) / 7 : slots.length;
    return {
      ok: true,
      value: v,
      how: `${slots.length} a day (${slots.join(', ')})${days ? ` on ${r?.dayOfWeek?.join('/')} only` : ''}`,
    };
  }
  if (days) return { ok: true, value: days / 7, how: `once on ${r?.dayOfWeek?.join('/')}` };
  const code = t?.code?.coding
    ?.map((c) => c.code)
    .find((c): c is string => !!c && c.toUpperCase() in TIMING_CODE_PER_DAY);
  if (code) return { ok: true, value: TIMING_CODE_PER_DAY[code.toUpperCase()] as number, how: code.toUpperCase() };
  if (r?.count !== undefined && r.count <= 1) return { ok: true, value: 1, how: 'a single dose (count 1)' };
  return { ok: false, why: r?.count !== undefined ? `${r.count} doses with no frequency` : 'no timing frequency' };
}

function unitOf(q: Quantity): string {
  return (q.code ?? q.unit ?? '').trim();
}

/**
 * A single administration in mg of the ingredient. A mass unit converts directly; a count or volume (tablet,
 * capsule, mL) needs the strength of one such unit from the product (`strengthFor`).
 */
export function doseMg(d: Dosage, strengthFor?: StrengthFor): Known<number> & { fromName?: boolean } {
  const dr = d.doseAndRate?.find((x) => x.doseQuantity || x.doseRange) ?? d.doseAndRate?.[0];
  // The low end of a range: the least the prescriber ordered, so a range never makes a course look bigger.
  const q = dr?.doseQuantity ?? dr?.doseRange?.low;
  if (!q || typeof q.value !== 'number') return { ok: false, why: 'no dose quantity' };
  const range = dr?.doseRange ? ' (low end of the dose range)' : '';
  const unit = unitOf(q);
  const factor = massMgPer(unit);
  if (factor !== undefined) {
    return { ok: true, value: q.value * factor, how: `${fmt(q.value)} ${unit}${range}` };
  }
  const s = strengthFor?.(unit);
  if (s) {
    return {
      ok: true,
      value: q.value * s.mgPerUnit,
      how: `${fmt(q.value)} ${unit || 'unit'} × ${s.how}${range}`,
      ...(s.fromName ? { fromName: true } : {}),
    };
  }
  return {
    ok: false,
    why: `dose is in "${unit || 'units'}" and the product strength is not stated`,
    ...(unit ? { unreadable: true } : {}),
  };
}

export interface DoseStep {
  /** Ingredient mg per day over this step. */
  mgPerDay: number;
  how: string;
  /** Step length when the timing bounds it (tapers, count, bounds); undefined runs to the end of the order. */
  days?: number;
  /** When the timing's boundsPeriod dates the step. */
  startMs?: number;
  /** Some strength in this step came only from a product's display name. */
  fromName?: boolean;
}

const isPrn = (d: Dosage) => d.asNeededBoolean === true || !!d.asNeededCodeableConcept;

/** How long a dosage line runs: bounds, and the days that `count` (or `countMax`) doses take. */
function lineDays(d: Dosage, perDay: number): { days?: number; startMs?: number; how?: string } {
  const r = d.timing?.repeat;
  const limits: [number, string][] = [];
  const bd = daysOf(r?.boundsDuration);
  if (bd !== undefined) limits.push([bd, `for ${fmt(bd)} d`]);
  const bp = periodDays(r?.boundsPeriod);
  if (bp !== undefined)
    limits.push([bp, `${r?.boundsPeriod?.start?.slice(0, 10)} to ${r?.boundsPeriod?.end?.slice(0, 10)}`]);
  const count = r?.countMax ?? r?.count;
  // A course of `count` doses lasts count ÷ doses a day; a single dose is one day's exposure.
  if (count !== undefined && perDay > 0)
    limits.push([Math.max(1, count / perDay), `${count} dose${count === 1 ? '' : 's'}`]);
  const startMs = parseFhirInstant(r?.boundsPeriod?.start);
  if (!limits.length) return startMs !== undefined ? { startMs } : {};
  const [days, how] = limits.reduce((a, b) => (b[0] < a[0] ? b : a));
  return { days, how, ...(startMs !== undefined ? { startMs } : {}) };
}

/**
 * Daily ingredient dose, step by step. Dosage lines with the same `sequence` run together and add up (10 mg in the
 * morning + 5 mg at night); different sequences follow each other (a taper). Lines without `sequence` are a taper
 * too when each is bounded and nothing says they run together (no `when`/`timeOfDay` on them): by their
 * boundsPeriod dates when given, else in the order listed. As-needed lines are left out; a dose taken only as
 * needed has no regular daily amount.
 */
export function doseSteps(dosages: Dosage[] | undefined, strengthFor?: StrengthFor): Known<DoseStep[]> {
  if (!dosages?.length) return { ok: false, why: 'no dosage instructions' };
  const lines = dosages.filter((d) => !isPrn(d));
  if (!lines.length) return { ok: false, why: 'taken as needed only: no regular daily dose' };
  const prnNote = lines.length < dosages.length ? ' (as-needed doses not counted)' : '';

  const bounded = (d: Dosage) => !!(d.timing?.repeat?.boundsDuration || d.timing?.repeat?.boundsPeriod);
  const slotted = (d: Dosage) => !!(d.timing?.repeat?.when?.length || d.timing?.repeat?.timeOfDay?.length);
  const noSequence = lines.every((d) => d.sequence === undefined);
  let groups: Dosage[][];
  let orderNote = '';
  if (noSequence && lines.length > 1 && lines.every(bounded) && !lines.some(slotted)) {
    const dated = lines.every((d) => parseFhirInstant(d.timing?.repeat?.boundsPeriod?.start) !== undefined);
    groups = dated
      ? [...lines]
          .sort(
            (a, b) =>
              (parseFhirInstant(a.timing?.repeat?.boundsPeriod?.start) as number) -
              (parseFhirInstant(b.timing?.repeat?.boundsPeriod?.start) as number),
          )
          .map((d) => [d])
      : lines.map((d) => [d]);
    orderNote = dated ? ' (steps ordered by their dates)' : ' (steps taken in the order listed: no sequence given)';
  } else {
    const bySeq = new Map<number, Dosage[]>();
    for (const d of lines) {
      const k = d.sequence ?? 0;
      bySeq.set(k, [...(bySeq.get(k) ?? []), d]);
    }
    groups = [...bySeq.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
  }

  const steps: DoseStep[] = [];
  for (const group of groups) {
    let mgPerDay = 0;
    const hows: string[] = [];
    let days: number | undefined;
    let startMs: number | undefined;
    let fromName = false;
    for (const d of group) {
      const dose = doseMg(d, strengthFor);
      if (!dose.ok) return dose;
      const tpd = timesPerDay(d.timing);
      if (!tpd.ok) return tpd;
      mgPerDay += dose.value * tpd.value;
      fromName ||= !!dose.fromName;
      const span = lineDays(d, tpd.value);
      hows.push(`${dose.how} × ${tpd.how}${span.how ? `, ${span.how}` : ''}`);
      if (span.days !== undefined) days = days === undefined ? span.days : Math.max(days, span.days);
      startMs ??= span.startMs;
    }
    steps.push({
      mgPerDay,
      how: hows.join(' + '),
      ...(days !== undefined ? { days } : {}),
      ...(startMs !== undefined ? { startMs } : {}),
      ...(fromName ? { fromName } : {}),
    });
  }
  return { ok: true, value: steps, how: `${steps.map((s) => s.how).join(', then ')}${orderNote}${prnNote}` };
}

/** Total days the steps allow when every step is bounded; undefined when the last step runs open-ended. */
export function boundedDays(steps: DoseStep[]): number | undefined {
  return steps.every((s) => s.days !== undefined) ? steps.reduce((n, s) => n + (s.days as number), 0) : undefined;
}
