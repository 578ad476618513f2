import type {
  Condition,
  DiagnosticReport,
  Encounter,
  EpisodeOfCare,
  Medication,
  MedicationAdministration,
  MedicationDispense,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Patient,
  Procedure,
  Resource,
  ServiceRequest,
} from 'fhir/r4';
import {
  type BoneDensityOrder,
  type BoneDensityTest,
  boneDensityOrders,
  boneDensityTests,
  undatedBoneDensity,
} from './bone-density';
import { careRecordFacts } from './care-records';
import { isOneOf } from './codesets';
import { type ConditionFact, readConditions } from './conditions';
import { DAY_MS, subtractMonths } from './dates';
import { type MedicationCourse, medicationCourses } from './exposure';
import type { Knowledge } from './knowledge';
import {
  type MedicationUse,
  medicationUnreadables,
  medicationUses,
  type OrderScope,
  unresolvedMedications,
} from './medications';
import { observedConditionFacts } from './observed-conditions';
import { belongsToPatient } from './subject';
import { sharedText } from './text';
import type { LabValue, RejectedObservation } from './types';

/**
 * Kinds of context a call may not have been able to read (an optional prefetch key that was neither sent nor
 * readable). Rules say so instead of pretending the patient has none.
 */
export type ContextDomain =
  | 'ccr-labs'
  | 'medications'
  | 'conditions'
  | 'bone-density'
  | 'bone-density-orders'
  | 'osteoporosis-therapy'
  | 'crp'
  | 'bmi'
  | 'vitamin-d'
  | 'palliative-care'
  | 'thyroid-labs'
  | 'pregnancy-tests';
export const CONTEXT_DOMAINS: readonly ContextDomain[] = [
  'ccr-labs',
  'medications',
  'conditions',
  'bone-density',
  'bone-density-orders',
  'osteoporosis-therapy',
  'crp',
  'bmi',
  'vitamin-d',
  'palliative-care',
  'thyroid-labs',
  'pregnancy-tests',
];

/**
 * A resource that is present but could not be read for a domain (a resource that failed validation, an unknown
 * route or unit, a dose that cannot be converted, a page limit reached). Its domain becomes "could not be checked":
 * never read as absent, local or "not on therapy". Readers return these; buildContext folds their domains into
 * `unavailable`, so every rule's existing could-not-check path applies without knowing why.
 */
export interface Unreadable {
  domain: ContextDomain;
  /** `Type/id` of the resource, or the prefetch key when the resource itself could not be named. */
  reference: string;
  /** Plain words for the app and the audit: never shown as a diagnosis. */
  reason: string;
  /** One of the orders an order hook is about (selected, or being signed): the rule cannot tell whether it fires. */
  focus?: boolean;
}

/** A domain's name as a sentence says it ("the medication list"), from the knowledge file's shared text. */
export function domainText(k: Knowledge, d: ContextDomain): string {
  return sharedText(k, `domain-${d}`);
}

/** Orders being placed now (order-select / order-sign), and which of them the hook is about. */
export interface DraftOrders {
  resources: Resource[];
  /** References ("MedicationRequest/103") of the selected orders; absent means all of them. */
  focus?: string[];
}

export interface ContextInput {
  observations: Observation[];
  medicationRequests?: MedicationRequest[];
  medicationStatements?: MedicationStatement[];
  /** Doses given (inpatient MAR, clinic injections): part of the same exposure timeline. */
  medicationAdministrations?: MedicationAdministration[];
  /** Supply handed over by a pharmacy: part of the same exposure timeline. */
  medicationDispenses?: MedicationDispense[];
  medications?: Medication[];
  conditions?: Condition[];
  diagnosticReports?: DiagnosticReport[];
  serviceRequests?: ServiceRequest[];
  /** Procedures (a DXA done; hospice or palliative care), Encounters and EpisodesOfCare (hospice, palliative care). */
  procedures?: Procedure[];
  encounters?: Encounter[];
  episodesOfCare?: EpisodeOfCare[];
  /** The Patient, when the caller has it: its birth date dates an onset or abatement given as an Age. */
  patient?: Patient;
  draftOrders?: DraftOrders;
  unavailable?: ContextDomain[];
  /** Resources set aside before the engine (failed validation at the boundary); their domains could not be checked. */
  unreadable?: Unreadable[];
}

/** Everything beyond the labs that the rules read: medicines, conditions and bone assessments, already matched to code sets. */
export interface ClinicalContext {
  /** `orders`: an order hook, where R1/R2 fire only for the orders being placed. */
  mode: 'record' | 'orders';
  medications: MedicationUse[];
  /** The same uses as one timeline per medicine (exposure.ts): what rules ask whether a medicine is current. */
  courses: MedicationCourse[];
  conditions: ConditionFact[];
  /** States results show (pregnancy, thyrotoxicosis): asked for only where a state changes what a lab means. */
  observedConditions: ConditionFact[];
  boneDensity: BoneDensityTest[];
  boneDensityOrders: BoneDensityOrder[];
  /** Domains that could not be checked: those the caller could not read, and those of every unreadable resource. */
  unavailable: ContextDomain[];
  unreadable: Unreadable[];
}

const refOf = (r: Resource) => `${r.resourceType}/${r.id ?? '(no id)'}`;

export function buildContext(
  input: ContextInput,
  patientRef: string,
  k: Knowledge,
  asOf: Date,
  labs: LabValue[] = [],
  rejected: RejectedObservation[] = [],
): ClinicalContext {
  const orders = input.draftOrders?.resources ?? [];
  const focus = input.draftOrders?.focus;
  const scope: OrderScope = { orders: new Set(orders.map(refOf)), ...(focus ? { focus: new Set(focus) } : {}) };
  const ofPatient = (r: { subject?: { reference?: string } }) => belongsToPatient(r, patientRef);
  const orderRequests = orders.filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest');
  const orderServices = orders.filter((r): r is ServiceRequest => r.resourceType === 'ServiceRequest');
  const conditions = readConditions(input.conditions ?? [], patientRef, k, {
    ...(input.patient?.birthDate ? { birthDate: input.patient.birthDate } : {}),
    asOfMs: asOf.getTime(),
  });
  const procedures = (input.procedures ?? []).filter(ofPatient);
  // Hospice and palliative care in the chart, however recorded; a referral being signed now is not yet care.
  const careRecords = [
    ...procedures,
    ...(input.encounters ?? []),
    ...(input.episodesOfCare ?? []),
    ...(input.serviceRequests ?? []),
  ];
  // Orders first, so a draft order that also reached us through a chart search is seen as the order.
  const medicationRecords = {
    requests: [...orderRequests, ...(input.medicationRequests ?? [])].filter(ofPatient),
    statements: (input.medicationStatements ?? []).filter(ofPatient),
    given: [...(input.medicationAdministrations ?? []), ...(input.medicationDispenses ?? [])].filter(ofPatient),
  };
  const medications = medicationUses(
    medicationRecords.requests,
    medicationRecords.statements,
    input.medications ?? [],
    k,
    asOf,
    scope,
    medicationRecords.given,
  );
  const unreadable = [
    ...(input.unreadable ?? []),
    ...medicationUnreadables(medications, k),
    ...unresolvedMedications(
      [...medicationRecords.requests, ...medicationRecords.statements, ...medicationRecords.given],
      input.medications ?? [],
      scope,
    ),
    ...conditions.unreadable,
    ...undatedBoneDensity(procedures, k),
  ];
  return {
    mode: input.draftOrders ? 'orders' : 'record',
    medications,
    courses: medicationCourses(medications, k.medicationTimeline.maxDoseIntervalDays, asOf.getTime()),
    conditions: [...conditions.facts, ...careRecordFacts(careRecords, patientRef, k, asOf)],
    observedConditions: observedConditionFacts(input.observations, labs, patientRef, k, asOf, rejected),
    boneDensity: boneDensityTests(
      input.observations.filter(ofPatient),
      (input.diagnosticReports ?? []).filter(ofPatient),
      k,
      procedures,
    ),
    boneDensityOrders: boneDensityOrders(
      [...orderServices, ...(input.serviceRequests ?? [])].filter(ofPatient),
      scope.orders,
      k,
    ),
    unavailable: [...new Set([...(input.unavailable ?? []), ...unreadable.map((u) => u.domain)])],
    unreadable,
  };
}

/* Small questions the rules ask of the context. */

export function missing(ctx: ClinicalContext, ...domains: ContextDomain[]): ContextDomain[] {
  return domains.filter((d) => ctx.unavailable.includes(d));
}

/** An order the hook is about was set aside unread for this domain: whether it would fire cannot be told. */
export function focusUnreadable(ctx: ClinicalContext, domain: ContextDomain): boolean {
  return ctx.unreadable.some((u) => u.focus && u.domain === domain);
}

/**
 * Conditions (and care records read as conditions) of the concepts `names`. `role` is what the caller does with
 * them: a `trigger` (a card starts from it) takes only confirmed ones; a `suppress` (the default: a card is quieted
 * or a ratio not trusted) also takes unconfirmed, provisional and differential ones, so doubt keeps a card quiet.
 * `activeOnly` asks for those that count now: current ones, and, for a concept whose code set entry says
 * `countsWhen: ever` (confirmed rheumatoid arthritis, a fragility fracture), any clinical status. `observed`: also
 * the states results show (a pregnancy status, thyrotoxicosis by TSH and free T4), for rules that ask whether a
 * state changes what a lab means; a bone card's diagnosis never comes from them (they are never confirmed).
 */
export function conditionsOf(
  ctx: ClinicalContext,
  names: readonly string[],
  opts: { activeOnly: boolean; role?: 'trigger' | 'suppress'; observed?: boolean },
): ConditionFact[] {
  const pool = opts.observed ? [...ctx.conditions, ...ctx.observedConditions] : ctx.conditions;
  return pool.filter(
    (c) =>
      (opts.role !== 'trigger' || (c.confirmed && !c.observed)) &&
      c.matches.some(
        (m) => isOneOf(m, names) && (!opts.activeOnly || c.active || c.observed || m.concept.countsWhen === 'ever'),
      ),
  );
}

/**
 * Whether a condition held at `atMs`, or up to `graceMs` before it (a pregnancy's months after): a recorded one while
 * active or until its abatement; an observed one only within the window its result shows.
 */
export function heldAt(f: ConditionFact, atMs: number, graceMs = 0): boolean {
  if (f.observed) return (f.onsetMs ?? atMs) <= atMs && (f.abatementMs ?? atMs) >= atMs - graceMs;
  return f.active || (f.abatementMs !== undefined && f.abatementMs >= atMs - graceMs);
}

/** The courses (one timeline per medicine) a use is part of, for the concepts in `names`. */
export function coursesOf(ctx: ClinicalContext, u: MedicationUse, names: readonly string[]): MedicationCourse[] {
  const concepts = new Set(u.matches.filter((m) => isOneOf(m, names)).map((m) => m.concept.id));
  return ctx.courses.filter((c) => c.uses.includes(u) && concepts.has(c.concept));
}

const courseDays = (c: { startMs: number; endMs: number }) => (c.endMs - c.startMs) / DAY_MS;

/**
 * The course that decides how long a use has run: the longest of its courses, an open one before a closed one; a use
 * in no course (its concept not among `names`) stands as its own period. Undefined when the period is unreadable.
 */
export function courseOf(
  ctx: ClinicalContext,
  u: MedicationUse,
  names: readonly string[],
): (Pick<MedicationCourse, 'startMs' | 'endMs' | 'open' | 'how'> & { days: number }) | undefined {
  if (!u.period.ok) return undefined;
  const courses = coursesOf(ctx, u, names);
  const c = courses.length
    ? courses.reduce((a, b) => (courseDays(b) > courseDays(a) || (b.open && !a.open) ? b : a))
    : { ...u.period.value, open: !!u.period.value.open };
  return { startMs: c.startMs, endMs: c.endMs, open: c.open, how: c.how, days: courseDays(c) };
}

/**
 * Uses that match `names` and were taken (or are ordered) within `withinDays` of `atMs`: their own period reaches it,
 * or the course they belong to does (a depot injection given 10 weeks ago whose next dose is due next week), so the
 * answer is the same whichever of the four medication resources recorded it.
 */
export function usesOf(
  ctx: ClinicalContext,
  names: readonly string[],
  atMs: number,
  withinDays: number,
): MedicationUse[] {
  const reaches = (startMs: number, endMs: number) => endMs >= atMs - withinDays * DAY_MS && startMs <= atMs;
  return ctx.medications.filter((u) => {
    if (!u.matches.some((m) => isOneOf(m, names))) return false;
    if (u.origin === 'order') return true;
    if (!u.period.ok) return u.status === 'active' || u.status === 'on-hold';
    if (reaches(u.period.value.startMs, u.period.value.endMs)) return true;
    return coursesOf(ctx, u, names).some((c) => reaches(c.startMs, c.endMs));
  });
}

/** A long-interval osteoporosis medicine whose next dose is past due and past its grace: not current therapy. */
export interface OverdueTherapy {
  use: MedicationUse;
  concept: string;
  lastDoseMs: number;
  /** The day the dose was due plus the grace: from then on it is overdue. */
  overdueSinceMs: number;
}

/**
 * When a use last dated a dose: a given dose or dispense its day; an order with no supply length runs open to today,
 * which says only that it was ordered then, so its start is the last dose on record.
 */
function lastDoseMs(u: MedicationUse): number | undefined {
  if (!u.period.ok) return undefined;
  return u.period.value.open ? u.period.value.startMs : Math.max(u.period.value.startMs, u.period.value.endMs - DAY_MS);
}

/**
 * Osteoporosis therapy within `withinMonths`, less a medicine given at long intervals whose latest dose on record is
 * more than its interval plus grace ago (denosumab past 6 months + 4 weeks): that one is `overdue`, not current.
 */
export function osteoporosisTherapyStatus(
  ctx: ClinicalContext,
  k: Knowledge,
  asOf: Date,
  withinMonths: number,
): { current: MedicationUse[]; overdue: OverdueTherapy[] } {
  const days = (asOf.getTime() - subtractMonths(asOf, withinMonths).getTime()) / DAY_MS;
  const uses = usesOf(ctx, k.osteoporosisTherapy, asOf.getTime(), days);
  const intervals = k.osteoporosisTherapyIntervals.byConcept;
  const latest = new Map<string, { use: MedicationUse; ms: number }>();
  for (const u of uses) {
    if (u.origin === 'order') continue;
    const ms = lastDoseMs(u);
    if (ms === undefined) continue;
    for (const m of u.matches) {
      if (!intervals[m.concept.id]) continue;
      const prev = latest.get(m.concept.id);
      if (!prev || ms > prev.ms) latest.set(m.concept.id, { use: u, ms });
    }
  }
  const overdue: OverdueTherapy[] = [];
  for (const [concept, { use, ms }] of latest) {
    const i = intervals[concept] as { intervalDays: number; graceDays: number };
    const overdueSinceMs = ms + (i.intervalDays + i.graceDays) * DAY_MS;
    if (overdueSinceMs < asOf.getTime()) overdue.push({ use, concept, lastDoseMs: ms, overdueSinceMs });
  }
  const overdueConcepts = new Set(overdue.map((o) => o.concept));
  // A use counts as current unless every interval-dosed concept it carries is overdue (a draft order always counts).
  const current = uses.filter(
    (u) =>
      u.origin === 'order' ||
      !u.matches.some((m) => intervals[m.concept.id]) ||
      u.matches.some((m) => intervals[m.concept.id] && !overdueConcepts.has(m.concept.id)),
  );
  return { current, overdue };
}

export function osteoporosisTherapy(
  ctx: ClinicalContext,
  k: Knowledge,
  asOf: Date,
  withinMonths: number,
): MedicationUse[] {
  return osteoporosisTherapyStatus(ctx, k, asOf, withinMonths).current;
}

export function dxaSince(ctx: ClinicalContext, sinceMs: number): BoneDensityTest | undefined {
  return ctx.boneDensity.find((t) => t.effectiveMs >= sinceMs);
}
