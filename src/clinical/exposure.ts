import type { ConceptMatch } from './codesets';
import { isOneOf, strongest } from './codesets';
import { DAY_MS, startOfDay } from './dates';
import { significant as fmt } from './format';
import type { Knowledge } from './knowledge';
import type { MedicationUse, UsePeriod } from './medications';

/*
 * Glucocorticoid exposure over time, in prednisone-equivalent mg/day: each use becomes dated intervals (one per
 * taper step); intervals at or above the threshold are joined across short gaps (renewals), and the longest
 * joined run is what "≥ 2.5 mg/day for > 3 months" is judged on. Concurrent uses are not added up, because the
 * same course often appears as both a MedicationRequest and a MedicationStatement.
 */

export interface DoseInterval {
  use: MedicationUse;
  startMs: number;
  endMs: number;
  ingredientMgPerDay: number;
  prednisoneEqMgPerDay: number;
  how: string;
}

export interface GlucocorticoidDoses {
  use: MedicationUse;
  ingredient: ConceptMatch;
  factor?: number;
  intervals: DoseInterval[];
  /** Why the use has no dated dose (dose or period unknown, no equivalence for the ingredient). */
  why?: string;
}

export interface ExposureRun {
  startMs: number;
  endMs: number;
  days: number;
  intervals: DoseInterval[];
}

/** The glucocorticoid a use is, by its best ingredient match (a class-only match has no ingredient). */
export function glucocorticoidIngredient(use: MedicationUse, groups: readonly string[]): ConceptMatch | undefined {
  const gc = use.matches.filter((m) => m.codeset === 'glucocorticoids' && isOneOf(m, groups));
  return strongest(gc.filter((m) => m.basis !== 'class')) ?? strongest(gc);
}

/**
 * A use's dated doses. On the record, only the days up to `asOfMs` are days taken: a supply that runs past today
 * is a forecast (240 days into a 270-day supply is 240 days). An order being placed keeps its planned course,
 * which is what the order hooks weigh (and the card calls it expected).
 */
export function glucocorticoidDoses(
  use: MedicationUse,
  ingredient: ConceptMatch,
  k: Knowledge,
  asOfMs: number,
  /** Keep the prescribed course of a record use still in force (see `inForce`), not only the days taken. */
  asPrescribed = false,
): GlucocorticoidDoses {
  const factor = k.glucocorticoidEquivalence.prednisoneMgPerMg[ingredient.concept.id];
  const base = { use, ingredient, ...(factor !== undefined ? { factor } : {}), intervals: [] as DoseInterval[] };
  if (factor === undefined)
    return {
      ...base,
      why: `no published prednisone equivalence for ${ingredient.concept.display}: the dose could not be converted`,
    };
  if (!use.dose.ok) return { ...base, why: use.dose.why };
  if (!use.period.ok) return { ...base, why: use.period.why };
  // Whole calendar days (dates.ts startOfDay): a course covers the days from the day it began, and a record's days
  // taken end at the start of today, so a supply running past today counts only the days already taken.
  const today = startOfDay(asOfMs);
  const startMs = startOfDay(use.period.value.startMs);
  const plannedEnd = Math.max(startMs, startOfDay(use.period.value.endMs));
  const keepPlan = use.origin === 'order' || (asPrescribed && inForce(use, asOfMs));
  const p = { startMs, endMs: keepPlan ? plannedEnd : Math.min(plannedEnd, Math.max(today, startMs)) };
  let cursor = p.startMs;
  const intervals: DoseInterval[] = [];
  for (const step of use.dose.value) {
    if (cursor >= p.endMs) break;
    // A step of 1.5 days (three doses at two a day) touches two calendar days.
    const endMs = step.days !== undefined ? Math.min(p.endMs, cursor + Math.ceil(step.days) * DAY_MS) : p.endMs;
    intervals.push({
      use,
      startMs: cursor,
      endMs,
      ingredientMgPerDay: step.mgPerDay,
      prednisoneEqMgPerDay: step.mgPerDay * factor,
      how: `${ingredient.concept.display} ${fmt(step.mgPerDay)} mg/day (${step.how})${factor !== 1 ? ` × ${fmt(factor)} = ${fmt(step.mgPerDay * factor)} mg/day prednisone-equivalent` : ''}`,
    });
    cursor = endMs;
  }
  return { ...base, intervals };
}

/**
 * A record use whose prescribed course is under way today: an active or on-hold order, or a completed dispense, whose
 * period began by today and is forecast to end after it. ACR 2022 counts a course begun and planned for more than
 * 3 months ("beginning or continuing"), so such a course is judged on its plan; the days already taken are still
 * what the card counts as observed.
 */
export function inForce(use: MedicationUse, asOfMs: number): boolean {
  if (use.origin !== 'record' || !use.period.ok || !use.period.value.expected) return false;
  const ordered = use.kind === 'MedicationRequest' && (use.status === 'active' || use.status === 'on-hold');
  const supplied = use.kind === 'MedicationDispense' && use.status === 'completed';
  const p = use.period.value;
  return (ordered || supplied) && p.startMs <= asOfMs && p.endMs > asOfMs;
}

/** Runs of intervals at or above `minMgPerDay`, joined across gaps of at most `maxGapDays`, longest first. */
export function exposureRuns(intervals: DoseInterval[], minMgPerDay: number, maxGapDays: number): ExposureRun[] {
  const enough = intervals
    .filter((i) => i.prednisoneEqMgPerDay >= minMgPerDay && i.endMs > i.startMs)
    .sort((a, b) => a.startMs - b.startMs);
  const runs: ExposureRun[] = [];
  for (const i of enough) {
    const last = runs[runs.length - 1];
    if (last && i.startMs <= last.endMs + maxGapDays * DAY_MS) {
      last.endMs = Math.max(last.endMs, i.endMs);
      last.intervals.push(i);
      last.days = Math.round((last.endMs - last.startMs) / DAY_MS);
    } else {
      runs.push({
        startMs: i.startMs,
        endMs: i.endMs,
        days: Math.round((i.endMs - i.startMs) / DAY_MS),
        intervals: [i],
      });
    }
  }
  return runs.sort((a, b) => b.days - a.days);
}

/*
 * One timeline per medicine, whatever resource said it: requests, statements, dispenses and administrations of one
 * ingredient become courses. Overlapping or touching periods join; doses given at intervals (a depot injection every
 * 12 weeks, recorded as MedicationAdministrations) join while each follows the last within `maxDoseIntervalDays`,
 * and the course then runs to the next dose due at the interval last observed. A rule asks this timeline, never one
 * resource type, so a medicine is current (or a short course) the same way however the EHR recorded it.
 */

export interface MedicationCourse {
  concept: string;
  uses: MedicationUse[];
  startMs: number;
  /** Cover ends: the last day taken or supplied, or the next dose due after repeated doses. */
  endMs: number;
  /** Doses at intervals with no stated supply: the interval last observed between them, in days. */
  doseIntervalDays?: number;
  /**
   * The course's length is not known: an order still running with no end, a single dose with no interval on record,
   * or doses at intervals whose next dose is not yet past due. An open course is never a short course.
   */
  open: boolean;
  how: string;
}

/** A dated dose, not a supply: an administration, or a use whose period is a single day with no stated end. */
function isDose(u: MedicationUse): boolean {
  if (!u.period.ok) return false;
  const p = u.period.value;
  return u.kind === 'MedicationAdministration' || (!p.open && !p.expected && p.endMs - p.startMs <= DAY_MS);
}

/** The ingredient concepts a use is a course of: its matches by code or name, else its class. */
function courseConcepts(u: MedicationUse): string[] {
  const specific = u.matches.filter((m) => m.basis !== 'class');
  return [...new Set((specific.length ? specific : u.matches).map((m) => m.concept.id))];
}

export function medicationCourses(
  uses: MedicationUse[],
  maxDoseIntervalDays: number,
  asOfMs: number,
): MedicationCourse[] {
  type Dated = { u: MedicationUse; p: UsePeriod };
  const byConcept = new Map<string, Dated[]>();
  for (const u of uses) {
    if (!u.period.ok) continue;
    const dated = { u, p: u.period.value };
    for (const c of courseConcepts(u)) {
      const list = byConcept.get(c);
      if (list) list.push(dated);
      else byConcept.set(c, [dated]);
    }
  }
  const out: MedicationCourse[] = [];
  const maxGapMs = maxDoseIntervalDays * DAY_MS;
  for (const [concept, list] of byConcept) {
    list.sort((a, b) => a.p.startMs - b.p.startMs);
    let cur: (MedicationCourse & { lastDoseMs?: number; doses: number }) | undefined;
    const close = () => {
      if (!cur) return;
      const { lastDoseMs, doses, ...course } = cur;
      if (lastDoseMs !== undefined && course.doseIntervalDays !== undefined) {
        const due = lastDoseMs + course.doseIntervalDays * DAY_MS;
        course.endMs = Math.max(course.endMs, due);
        // The next dose is not yet past due: the course may go on, so its length is not known.
        if (due >= startOfDay(asOfMs)) course.open = true;
        course.how = `${doses} doses about ${fmt(course.doseIntervalDays)} days apart, the next due ${new Date(due).toISOString().slice(0, 10)}`;
      } else if (doses === 1 && course.uses.length === 1) {
        course.open = true;
        course.how = 'a single dose, no interval on record';
      }
      out.push(course);
      cur = undefined;
    };
    for (const { u, p } of list) {
      const dose = isDose(u);
      const joins =
        cur &&
        (p.startMs <= cur.endMs + DAY_MS ||
          (dose && cur.lastDoseMs !== undefined && p.startMs - cur.lastDoseMs <= maxGapMs));
      if (cur && joins) {
        if (dose && cur.lastDoseMs !== undefined && p.startMs - cur.lastDoseMs >= DAY_MS)
          cur.doseIntervalDays = Math.round((p.startMs - cur.lastDoseMs) / DAY_MS);
        if (dose) {
          cur.lastDoseMs = p.startMs;
          cur.doses += 1;
        }
        cur.uses.push(u);
        cur.endMs = Math.max(cur.endMs, p.endMs);
        cur.open = cur.open || !!p.open;
        continue;
      }
      close();
      cur = {
        concept,
        uses: [u],
        startMs: p.startMs,
        endMs: p.endMs,
        open: !!p.open,
        how: p.how,
        doses: dose ? 1 : 0,
        ...(dose ? { lastDoseMs: p.startMs } : {}),
      };
    }
    close();
  }
  return out;
}
