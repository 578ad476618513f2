import type { CodeableConcept, Dosage, Medication, MedicationRequest, MedicationStatement, Quantity, Ratio } from 'fhir/r4';
import type { Knowledge } from './knowledge';
import { type CodesetId, type ConceptMatch, matchConcepts, textsOf } from './codesets';
import { type DoseStep, type Known, daysOf, doseSteps, periodDays, timesPerDay } from './dosage';
import { parseFhirInstant } from './dates';
import { type RouteJudgement, judgeRoute } from './routes';

/*
 * MedicationRequest and MedicationStatement, whatever shape the EHR sends (medicationCodeableConcept, or
 * medicationReference to a contained or included Medication), become one MedicationUse: what it is, by
 * which evidence, by which route, how much per day and over which period.
 */

const DAY_MS = 86_400_000;
const MEDICATION_CODESETS: CodesetId[] = ['glucocorticoids', 'endocrine-therapy', 'osteoporosis-therapy', 'other-medications'];

export interface UsePeriod {
  startMs: number;
  endMs: number;
  start: string;
  end: string;
  /** How the period was reached, for the card (e.g. "authoredOn 2026-05-01 + 30 d supply × 4 fills"). */
  how: string;
  /** The end is a forecast from the prescription, not an observed stop. */
  expected: boolean;
}

export interface MedicationUse {
  reference: string;
  /** Has a resource id, so it can be named in derivedFrom. */
  hasId: boolean;
  kind: 'MedicationRequest' | 'MedicationStatement';
  /** `order`: one of the hook's draftOrders; `record`: the patient's medication list. */
  origin: 'record' | 'order';
  /** An order the hook is about (its selections, or all draftOrders when there are none). */
  focus: boolean;
  status: string;
  name: string;
  matches: ConceptMatch[];
  route: RouteJudgement;
  dose: Known<DoseStep[]>;
  period: Known<UsePeriod>;
}

const REQUEST_STATUSES = new Set(['active', 'on-hold', 'completed', 'stopped']);
const RECORD_INTENTS = new Set(['order', 'original-order', 'reflex-order', 'filler-order', 'instance-order']);
const ORDER_INTENTS = new Set([...RECORD_INTENTS, 'plan', 'proposal']);
const STATEMENT_STATUSES = new Set(['active', 'completed', 'on-hold', 'stopped']);

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function day(ms: number): string {
  return iso(ms).slice(0, 10);
}

function fmt(n: number): string {
  return Number(n.toPrecision(3)).toString();
}

/** The Medication behind a medicationReference: contained (#id) or one the caller supplied (e.g. from _include). */
function resolveMedication(
  ref: string | undefined,
  contained: MedicationRequest['contained'],
  external: Map<string, Medication>,
): Medication | undefined {
  if (!ref) return undefined;
  if (ref.startsWith('#')) {
    return contained?.find((r): r is Medication => r.resourceType === 'Medication' && r.id === ref.slice(1));
  }
  return external.get(ref) ?? external.get(`Medication/${ref.split('/').pop() ?? ''}`);
}

const COUNT_UNITS = /^(\{?tab(let)?s?\}?|\{?cap(sule)?s?\}?|1|\{?each\}?|ea|\{?unit\}?|\{?dose\}?|\{?tbl\}?|\{?puff\}?)$/i;

function massMg(q: Quantity | undefined): number | undefined {
  if (!q || typeof q.value !== 'number') return undefined;
  const u = (q.code ?? q.unit ?? '').trim();
  const f: Record<string, number> = { mg: 1, g: 1000, ug: 0.001, mcg: 0.001 };
  return f[u] !== undefined ? q.value * (f[u] as number) : undefined;
}

/** mg of the ingredient in one unit (tablet, mL...) from Medication.ingredient.strength. */
function strengthPerUnit(med: Medication | undefined, doseUnit: string | undefined): { mg: number; how: string } | undefined {
  const ingredients = med?.ingredient ?? [];
  const active = ingredients.filter((i) => i.isActive !== false && i.strength);
  if (active.length !== 1) return undefined;
  const s = active[0]?.strength as Ratio;
  const mg = massMg(s.numerator);
  const per = s.denominator?.value ?? 1;
  const perUnit = (s.denominator?.code ?? s.denominator?.unit ?? '').trim();
  if (mg === undefined || per <= 0) return undefined;
  const sameUnit = !!doseUnit && (doseUnit === perUnit || (COUNT_UNITS.test(doseUnit) && (COUNT_UNITS.test(perUnit) || perUnit === '')));
  if (!sameUnit) return undefined;
  return { mg: mg / per, how: `${fmt(mg / per)} mg per ${perUnit || 'unit'} (Medication strength)` };
}

function firstDoseUnit(dosages: Dosage[] | undefined): string | undefined {
  const q = dosages?.[0]?.doseAndRate?.[0]?.doseQuantity;
  return (q?.code ?? q?.unit)?.trim();
}

/** Units per day for the simple one-line case, to turn a dispensed quantity into days. */
function unitsPerDay(dosages: Dosage[] | undefined): number | undefined {
  if (dosages?.length !== 1) return undefined;
  const d = dosages[0] as Dosage;
  const q = d.doseAndRate?.[0]?.doseQuantity?.value;
  const t = timesPerDay(d.timing);
  return typeof q === 'number' && t.ok ? q * t.value : undefined;
}

function requestPeriod(mr: MedicationRequest, origin: 'record' | 'order', asOf: Date, dose: Known<DoseStep[]>): Known<UsePeriod> {
  const dr = mr.dispenseRequest;
  const authored = parseFhirInstant(mr.authoredOn);
  const validityStart = parseFhirInstant(dr?.validityPeriod?.start);
  const startMs = authored ?? validityStart ?? (origin === 'order' ? asOf.getTime() : undefined);
  if (startMs === undefined) return { ok: false, why: 'no authoredOn or validity period start' };
  const startHow = authored !== undefined ? `authoredOn ${day(startMs)}` : validityStart !== undefined ? `validity period from ${day(startMs)}` : `ordered now (${day(startMs)})`;
  const fills = 1 + Math.max(0, dr?.numberOfRepeatsAllowed ?? 0);
  const fillText = fills > 1 ? ` × ${fills} fills (1 + ${fills - 1} repeats)` : '';

  let days: number | undefined;
  let how = '';
  const supply = daysOf(dr?.expectedSupplyDuration);
  const qty = dr?.quantity?.value;
  const qtyUnit = (dr?.quantity?.code ?? dr?.quantity?.unit)?.trim();
  const upd = unitsPerDay(mr.dosageInstruction);
  if (supply !== undefined) {
    days = supply * fills;
    how = `${fmt(supply)} d supply${fillText}`;
  } else if (typeof qty === 'number' && upd && qtyUnit && qtyUnit === firstDoseUnit(mr.dosageInstruction)) {
    days = (qty / upd) * fills;
    how = `${fmt(qty)} ${qtyUnit} at ${fmt(upd)} a day${fillText}`;
  } else if (dose.ok && dose.value.every((s) => s.days !== undefined)) {
    days = dose.value.reduce((n, s) => n + (s.days as number), 0);
    how = 'the dosage timing bounds';
  } else if (periodDays(dr?.validityPeriod) !== undefined) {
    days = periodDays(dr?.validityPeriod) as number;
    how = 'the prescription validity period';
  }
  if (days !== undefined) {
    const endMs = startMs + days * DAY_MS;
    return { ok: true, value: { startMs, endMs, start: iso(startMs), end: iso(endMs), how: `${startHow} + ${how}`, expected: true }, how };
  }
  if (mr.status === 'active' || mr.status === 'on-hold') {
    const endMs = Math.max(startMs, asOf.getTime());
    return { ok: true, value: { startMs, endMs, start: iso(startMs), end: iso(endMs), how: `${startHow}, still ${mr.status} today (no supply length given)`, expected: false }, how: 'active' };
  }
  // A finished order without a supply length still dates the drug (a yearly zoledronic acid infusion).
  return { ok: true, value: { startMs, endMs: startMs, start: iso(startMs), end: iso(startMs), how: `${startHow} (no supply length given)`, expected: false }, how: 'point' };
}

function statementPeriod(ms: MedicationStatement, asOf: Date): Known<UsePeriod> {
  const ongoing = ms.status === 'active' || ms.status === 'on-hold';
  const p = ms.effectivePeriod;
  const startMs = parseFhirInstant(p?.start) ?? parseFhirInstant(ms.effectiveDateTime) ?? parseFhirInstant(ms.dateAsserted);
  if (startMs === undefined) return { ok: false, why: 'no effective period, effective date or dateAsserted' };
  const stated = parseFhirInstant(p?.end);
  const endMs = stated ?? (ongoing ? Math.max(startMs, asOf.getTime()) : startMs);
  const source = p?.start ? 'effectivePeriod' : ms.effectiveDateTime ? 'effectiveDateTime' : 'dateAsserted';
  const how = stated !== undefined ? `${source} ${day(startMs)} to ${day(endMs)}` : ongoing ? `${source} from ${day(startMs)}, ${ms.status} today` : `${source} ${day(startMs)}`;
  return { ok: true, value: { startMs, endMs, start: iso(startMs), end: iso(endMs), how, expected: false }, how };
}

export interface OrderScope {
  /** References of the resources that came in as draftOrders. */
  orders: Set<string>;
  /** References the hook is about (selections); absent means all orders. */
  focus?: Set<string>;
}

function refOf(r: MedicationRequest | MedicationStatement): string {
  return `${r.resourceType}/${r.id ?? '(no id)'}`;
}

export function medicationUse(
  r: MedicationRequest | MedicationStatement,
  k: Knowledge,
  asOf: Date,
  external: Map<string, Medication>,
  scope?: OrderScope,
): MedicationUse | undefined {
  const reference = refOf(r);
  const origin = scope?.orders.has(reference) ? 'order' : 'record';
  const allowed = r.resourceType === 'MedicationRequest' ? REQUEST_STATUSES : STATEMENT_STATUSES;
  // Orders may be draft (order-select) or, under order-sign 1.1, already active: which ones count is the caller's call.
  if (origin === 'record' && !allowed.has(r.status)) return undefined;
  // On the chart only real orders are exposure; a proposal or plan is not taken yet. Among draftOrders it is the point.
  const intents = origin === 'order' ? ORDER_INTENTS : RECORD_INTENTS;
  if (r.resourceType === 'MedicationRequest' && r.intent && !intents.has(r.intent)) return undefined;

  const med = resolveMedication(r.medicationReference?.reference, r.contained, external);
  const concepts: (CodeableConcept | undefined)[] = [r.medicationCodeableConcept, med?.code, ...(med?.ingredient ?? []).map((i) => i.itemCodeableConcept)];
  const matches = MEDICATION_CODESETS.flatMap((id) => concepts.flatMap((cc) => matchConcepts(cc, k.codesets[id], id)));
  if (!matches.length) return undefined;

  const dosages = r.resourceType === 'MedicationRequest' ? r.dosageInstruction : r.dosage;
  const dose = doseSteps(dosages, strengthPerUnit(med, firstDoseUnit(dosages)));
  const gcMatches = matches.filter((m) => m.codeset === 'glucocorticoids');
  const name = textsOf(r.medicationCodeableConcept)[0] ?? textsOf(med?.code)[0] ?? r.medicationReference?.display ?? matches[0]?.concept.display ?? 'medication';
  return {
    reference,
    hasId: !!r.id,
    kind: r.resourceType,
    origin,
    focus: origin === 'order' && (!scope?.focus || scope.focus.has(reference)),
    status: r.status,
    name,
    matches,
    route: judgeRoute(dosages, [r.medicationCodeableConcept, med?.code, med?.form], gcMatches, k.codesets),
    dose,
    period: r.resourceType === 'MedicationRequest' ? requestPeriod(r, origin, asOf, dose) : statementPeriod(r, asOf),
  };
}

export function medicationUses(
  requests: MedicationRequest[],
  statements: MedicationStatement[],
  medications: Medication[],
  k: Knowledge,
  asOf: Date,
  scope?: OrderScope,
): MedicationUse[] {
  const external = new Map(medications.filter((m) => m.id).map((m) => [`Medication/${m.id}`, m]));
  const seen = new Set<string>();
  const out: MedicationUse[] = [];
  for (const r of [...requests, ...statements]) {
    const ref = refOf(r);
    // The same order can reach us twice (a chart search and draftOrders); the order copy wins.
    if (r.id && seen.has(ref)) continue;
    if (r.id) seen.add(ref);
    const u = medicationUse(r, k, asOf, external, scope);
    if (u) out.push(u);
  }
  return out;
}
