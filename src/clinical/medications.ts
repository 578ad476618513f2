import type {
  CodeableConcept,
  Dosage,
  Medication,
  MedicationAdministration,
  MedicationDispense,
  MedicationRequest,
  MedicationStatement,
  Quantity,
  Ratio,
} from 'fhir/r4';
import { type CodesetId, type ConceptMatch, matchConcepts, nameIn, textsOf } from './codesets';
import type { Unreadable } from './context';
import { DAY_MS, parseFhirInstant } from './dates';
import {
  boundedDays,
  type DoseStep,
  daysOf,
  doseSteps,
  type Known,
  massMgPer,
  periodDays,
  type StrengthFor,
  timesPerDay,
  type UnitStrength,
} from './dosage';
import { significant as fmt } from './format';
import type { Knowledge } from './knowledge';
import { type Product, productsIn, RXNORM } from './products';
import { judgeRoute, type RouteJudgement } from './routes';

/*
 * All four FHIR R4 medication resources, whatever shape the EHR sends (medicationCodeableConcept, or
 * medicationReference to a contained or included Medication), become one MedicationUse: what it is, by
 * which evidence, by which route, how much per day and over which period. MedicationRequest: what was ordered
 * (authoredOn, dispenseRequest); MedicationStatement: what the patient is said to take (effective[x]);
 * MedicationAdministration: a dose given (effective[x], dosage.dose); MedicationDispense: supply handed over
 * (whenHandedOver, quantity, daysSupply). Together they are one exposure timeline (exposure.ts).
 */

/** The four medication resources, read alike. */
export type MedicationResource =
  | MedicationRequest
  | MedicationStatement
  | MedicationAdministration
  | MedicationDispense;

const MEDICATION_CODESETS: CodesetId[] = [
  'glucocorticoids',
  'endocrine-therapy',
  'osteoporosis-therapy',
  'other-medications',
];

export interface UsePeriod {
  startMs: number;
  endMs: number;
  start: string;
  end: string;
  /** How the period was reached, for the card (e.g. "ordered 2026-05-01 + 30 d supply × 4 fills"). */
  how: string;
  /** The end is a forecast from the prescription, not an observed stop. */
  expected: boolean;
  /** No supply, bounds or count gives an end: the order runs until stopped (ongoing therapy). */
  open?: boolean;
}

export interface MedicationUse {
  reference: string;
  /** Has a resource id, so it can be named in derivedFrom. */
  hasId: boolean;
  kind: MedicationResource['resourceType'];
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
// What was given (in progress or stopped part-way is still given); not-done and entered-in-error were not.
const ADMINISTRATION_STATUSES = new Set(['completed', 'in-progress', 'stopped']);
// Only a completed dispense put the supply in the patient's hands.
const DISPENSE_STATUSES = new Set(['completed']);
const ALLOWED: Record<MedicationResource['resourceType'], Set<string>> = {
  MedicationRequest: REQUEST_STATUSES,
  MedicationStatement: STATEMENT_STATUSES,
  MedicationAdministration: ADMINISTRATION_STATUSES,
  MedicationDispense: DISPENSE_STATUSES,
};

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function day(ms: number): string {
  return iso(ms).slice(0, 10);
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

/*
 * Units a dose may be counted in, by the product unit they stand for. "1" and "each" count whole units of any
 * countable product; a volume must be a volume.
 */
const UNIT_WORDS: Record<string, RegExp> = {
  '{tbl}': /^\{?(tab|tabs|tablet|tablets|tbl|tbls)\}?$/i,
  '{cap}': /^\{?(cap|caps|capsule|capsules)\}?$/i,
  '{vial}': /^\{?(vial|vials|injection|injections|inj|syringe|syringes|ampoule|ampoules|amp)\}?$/i,
  '{patch}': /^\{?(patch|patches)\}?$/i,
  '{implant}': /^\{?(implant|implants)\}?$/i,
  '{actuat}': /^\{?(actuat|actuation|actuations|puff|puffs|spray|sprays)\}?$/i,
  mL: /^(ml|milliliter|milliliters|millilitre|millilitres)$/i,
};
const ANY_COUNT = /^(1|\{?each\}?|ea|\{?unit\}?|\{?dose\}?|\{?dose_unit\}?)$/i;
/*
 * A pill is a solid oral unit: a tablet or a capsule, never a vial or a volume. The CDS Hooks Sandbox writes every
 * dose as `{pill}` (UCUM annotation) of an RxNorm tablet product, so the product says how much one holds.
 */
const PILL = /^\{?(pill|pills)\}?$/i;

function unitClass(u: string): string | undefined {
  if (u === '' || ANY_COUNT.test(u)) return 'count';
  if (PILL.test(u)) return 'pill';
  return Object.keys(UNIT_WORDS).find((k) => k === u || UNIT_WORDS[k]?.test(u));
}

/** True when amounts in units `a` and `b` count the same thing (a tablet and a TAB; "1" and a tablet; mL and ml). */
function sameUnit(a: string, b: string): boolean {
  if (a === b) return true;
  const ca = unitClass(a);
  const cb = unitClass(b);
  if (!ca || !cb) return false;
  if (ca === cb) return true;
  if (ca === 'pill' || cb === 'pill') return ['{tbl}', '{cap}', 'count'].includes(ca === 'pill' ? cb : ca);
  // A bare count ("1", "each") counts whole units of anything countable, never a volume.
  return (ca === 'count' && cb !== 'mL') || (cb === 'count' && ca !== 'mL');
}

function fmtUnit(u: string): string {
  return u.replace(/[{}]/g, '') || 'unit';
}

function massMg(q: Quantity | undefined): number | undefined {
  if (!q || typeof q.value !== 'number') return undefined;
  const f = massMgPer((q.code ?? q.unit ?? '').trim());
  return f === undefined ? undefined : q.value * f;
}

/** The Medication.ingredient entries of a concept: by code, or the only active one with a strength. */
function ingredientStrength(
  med: Medication | undefined,
  conceptId: string,
  k: Knowledge,
  doseUnit: string,
): UnitStrength | undefined {
  const withStrength = (med?.ingredient ?? []).filter((i) => i.isActive !== false && i.strength);
  const own = withStrength.filter((i) =>
    MEDICATION_CODESETS.some((id) =>
      matchConcepts(i.itemCodeableConcept, k.codesets[id], id).some(
        (m) => m.concept.id === conceptId && m.basis === 'code',
      ),
    ),
  );
  const pick = own.length === 1 ? own[0] : withStrength.length === 1 ? withStrength[0] : undefined;
  const s = pick?.strength as Ratio | undefined;
  const mg = massMg(s?.numerator);
  const per = s?.denominator?.value ?? 1;
  const perUnit = (s?.denominator?.code ?? s?.denominator?.unit ?? '').trim();
  if (mg === undefined || per <= 0 || !sameUnit(doseUnit, perUnit)) return undefined;
  return { mgPerUnit: mg / per, how: `${fmt(mg / per)} mg per ${fmtUnit(perUnit)} (Medication strength)` };
}

/** Strength from a verified product in the table: RxNorm says what one tablet (or mL) holds. */
function productStrength(products: Product[], conceptId: string, doseUnit: string): UnitStrength | undefined {
  for (const p of products) {
    if (p.verification.status !== 'verified') continue;
    const i = p.ingredients.find((x) => x.concept === conceptId);
    if (!i || !sameUnit(doseUnit, i.per.unit)) continue;
    const f = massMgPer(i.strength.unit);
    if (f === undefined) continue;
    const mgPerUnit = (i.strength.value * f) / i.per.value;
    const per = i.per.value === 1 ? fmtUnit(i.per.unit) : `${fmt(i.per.value)} ${fmtUnit(i.per.unit)}`;
    return { mgPerUnit, how: `${fmt(i.strength.value)} ${i.strength.unit} per ${per} (RxNorm ${p.code}, ${p.name})` };
  }
  return undefined;
}

const NAME_STRENGTH =
  /(\d+(?:\.\d+)?)\s*(mg|mcg|µg|μg|ug|g)(?![a-z])(?:\s*(?:\/|per|in)\s*(\d+(?:\.\d+)?)?\s*(ml)\b)?/i;
const FORM_UNIT: [RegExp, string][] = [
  [/\b(tablets?|tab)\b/i, '{tbl}'],
  [/\b(capsules?|cap)\b/i, '{cap}'],
];

/**
 * Last resort: the strength in a product's display name ("Prednisone 5 mg tablet"), only for a single-ingredient
 * name that names the concept, and flagged on the card as read from the name.
 */
function nameStrength(names: string[], conceptNames: string[], doseUnit: string): UnitStrength | undefined {
  for (const name of names) {
    if (name.includes(' / ') || !conceptNames.some((n) => nameIn(name, n))) continue;
    const m = NAME_STRENGTH.exec(name);
    if (!m) continue;
    const mg = Number(m[1]) * (massMgPer(m[2] as string) ?? NaN);
    if (!Number.isFinite(mg)) continue;
    let perUnit: string | undefined;
    let per = 1;
    if (m[4]) {
      perUnit = 'mL';
      per = m[3] ? Number(m[3]) : 1;
    } else {
      perUnit = FORM_UNIT.find(([re]) => re.test(name))?.[1];
    }
    if (!perUnit || per <= 0 || !sameUnit(doseUnit, perUnit)) continue;
    return {
      mgPerUnit: mg / per,
      how: `${fmt(mg / per)} mg per ${fmtUnit(perUnit)} read from the name "${name}" (no coded strength)`,
      fromName: true,
    };
  }
  return undefined;
}

/** Every way to the strength of one unit, in order of trust: Medication.ingredient, the product table, the name. */
function strengthResolver(
  med: Medication | undefined,
  products: Product[],
  conceptId: string | undefined,
  names: string[],
  k: Knowledge,
): StrengthFor {
  const concept = conceptId
    ? MEDICATION_CODESETS.flatMap((id) => k.codesets[id].concepts).find((c) => c.id === conceptId)
    : undefined;
  return (unit: string) => {
    if (!conceptId) return undefined;
    return (
      ingredientStrength(med, conceptId, k, unit) ??
      productStrength(products, conceptId, unit) ??
      nameStrength(names, concept?.names ?? [], unit)
    );
  };
}

/** Ingredient matches through the product table: an SCD/SBD/pack code names its ingredients. */
function productMatches(products: Product[], k: Knowledge): ConceptMatch[] {
  const out: ConceptMatch[] = [];
  for (const p of products) {
    for (const i of p.ingredients) {
      const concept = k.codesets[i.codeset].concepts.find((c) => c.id === i.concept);
      if (!concept) continue;
      out.push({
        codeset: i.codeset,
        concept,
        basis: 'code',
        coding: { system: RXNORM, code: p.code, display: p.name },
        verified: p.verification.status === 'verified',
      });
    }
  }
  return out;
}

/** Units per day for the simple one-line case, to turn a dispensed quantity into days. */
function unitsPerDay(dosages: Dosage[] | undefined): number | undefined {
  const lines = (dosages ?? []).filter((d) => d.asNeededBoolean !== true && !d.asNeededCodeableConcept);
  if (lines.length !== 1) return undefined;
  const d = lines[0] as Dosage;
  const q = d.doseAndRate?.[0]?.doseQuantity?.value;
  const t = timesPerDay(d.timing);
  return typeof q === 'number' && t.ok ? q * t.value : undefined;
}

function firstDoseUnit(dosages: Dosage[] | undefined): string | undefined {
  const q = dosages?.find((d) => d.asNeededBoolean !== true && !d.asNeededCodeableConcept)?.doseAndRate?.[0]
    ?.doseQuantity;
  return (q?.code ?? q?.unit)?.trim();
}

const ENDED = new Set(['stopped', 'completed']);

/**
 * The period a request covers. Its length is the shortest of what supply (× fills), dispensed quantity, the
 * timing's bounds and count allow; a stopped or completed order ends no later than its last update or today.
 */
function requestPeriod(
  mr: MedicationRequest,
  origin: 'record' | 'order',
  asOf: Date,
  dose: Known<DoseStep[]>,
  product: Product | undefined,
): Known<UsePeriod> {
  const dr = mr.dispenseRequest;
  const authored = parseFhirInstant(mr.authoredOn);
  const validityStart = parseFhirInstant(dr?.validityPeriod?.start);
  const boundsStart = dose.ok ? dose.value[0]?.startMs : undefined;
  const startMs = boundsStart ?? authored ?? validityStart ?? (origin === 'order' ? asOf.getTime() : undefined);
  if (startMs === undefined) return { ok: false, why: 'no authoredOn or validity period start' };
  const startHow =
    boundsStart !== undefined
      ? `timing bounds from ${day(startMs)}`
      : authored !== undefined
        ? `ordered ${day(startMs)}`
        : validityStart !== undefined
          ? `validity period from ${day(startMs)}`
          : `ordered now (${day(startMs)})`;
  const fills = 1 + Math.max(0, dr?.numberOfRepeatsAllowed ?? 0);
  const fillText = fills > 1 ? ` × ${fills} fills (1 + ${fills - 1} repeats)` : '';

  const limits: [number, string][] = [];
  const supply = daysOf(dr?.expectedSupplyDuration);
  if (supply !== undefined) limits.push([supply * fills, `${fmt(supply)} d supply${fillText}`]);
  const qty = dr?.quantity?.value;
  const qtyUnit = (dr?.quantity?.code ?? dr?.quantity?.unit)?.trim();
  const doseUnit = firstDoseUnit(mr.dosageInstruction);
  const upd = unitsPerDay(mr.dosageInstruction);
  if (typeof qty === 'number' && upd && qtyUnit && doseUnit) {
    // A pack dispensed by the pack holds packUnits tablets.
    const packs =
      product?.packUnits && /^\{?(pack|pk|package|kit)s?\}?$/i.test(qtyUnit) ? product.packUnits : undefined;
    const units = packs ? qty * packs : sameUnit(qtyUnit, doseUnit) ? qty : undefined;
    if (units !== undefined)
      limits.push([
        (units / upd) * fills,
        `${fmt(qty)} ${qtyUnit}${packs ? ` of ${packs}` : ''} at ${fmt(upd)} a day${fillText}`,
      ]);
  }
  const timed = dose.ok ? boundedDays(dose.value) : undefined;
  if (timed !== undefined) limits.push([timed, 'the dosage timing (bounds or count)']);
  if (!limits.length && periodDays(dr?.validityPeriod) !== undefined)
    limits.push([periodDays(dr?.validityPeriod) as number, 'the prescription validity period']);

  const ended = ENDED.has(mr.status);
  const lastUpdated = parseFhirInstant(mr.meta?.lastUpdated);
  // A stopped order that does not say when it stopped may have stopped the day it began: it proves no days of use
  // (a card must not rest on a course the record does not show). A completed one ran as planned.
  const stoppedUndated = mr.status === 'stopped' && lastUpdated === undefined;
  const stopBy = ended ? Math.min(asOf.getTime(), lastUpdated ?? (stoppedUndated ? startMs : Infinity)) : undefined;

  if (limits.length) {
    const [days, how] = limits.reduce((a, b) => (b[0] < a[0] ? b : a));
    let endMs = startMs + days * DAY_MS;
    let stopText = '';
    if (stopBy !== undefined && stopBy < endMs) {
      endMs = Math.max(startMs, stopBy);
      stopText = stoppedUndated
        ? ', stopped on a date the order does not give (no days counted)'
        : `, ${mr.status} by ${day(endMs)}`;
    }
    const expected = !ended;
    return {
      ok: true,
      value: { startMs, endMs, start: iso(startMs), end: iso(endMs), how: `${startHow} + ${how}${stopText}`, expected },
      how,
    };
  }
  if (mr.status === 'active' || mr.status === 'on-hold' || (origin === 'order' && !ended)) {
    const endMs = Math.max(startMs, asOf.getTime());
    return {
      ok: true,
      value: {
        startMs,
        endMs,
        start: iso(startMs),
        end: iso(endMs),
        how: `${startHow}, still ${mr.status} today (no supply length given)`,
        expected: false,
        open: true,
      },
      how: 'active',
    };
  }
  // A finished order without a supply length still dates the drug (a yearly zoledronic acid infusion).
  return {
    ok: true,
    value: {
      startMs,
      endMs: startMs,
      start: iso(startMs),
      end: iso(startMs),
      how: `${startHow} (no supply length given)`,
      expected: false,
    },
    how: 'point',
  };
}

function statementPeriod(ms: MedicationStatement, asOf: Date): Known<UsePeriod> {
  const ongoing = ms.status === 'active' || ms.status === 'on-hold';
  const p = ms.effectivePeriod;
  const startMs =
    parseFhirInstant(p?.start) ?? parseFhirInstant(ms.effectiveDateTime) ?? parseFhirInstant(ms.dateAsserted);
  if (startMs === undefined) return { ok: false, why: 'no effective period, effective date or dateAsserted' };
  const stated = parseFhirInstant(p?.end);
  const endMs = stated ?? (ongoing ? Math.max(startMs, asOf.getTime()) : startMs);
  const source = p?.start ? 'effectivePeriod' : ms.effectiveDateTime ? 'effectiveDateTime' : 'dateAsserted';
  const how =
    stated !== undefined
      ? `${source} ${day(startMs)} to ${day(endMs)}`
      : ongoing
        ? `${source} from ${day(startMs)}, ${ms.status} today`
        : `${source} ${day(startMs)}`;
  return { ok: true, value: { startMs, endMs, start: iso(startMs), end: iso(endMs), how, expected: false }, how };
}

/**
 * A dose given: MedicationAdministration.effective[x] is when it was given, and a dose covers that day (an
 * infusion over a period covers the period, at least a day). Never a forecast.
 */
function administrationPeriod(ma: MedicationAdministration): Known<UsePeriod> {
  const p = ma.effectivePeriod;
  const startMs = parseFhirInstant(p?.start) ?? parseFhirInstant(ma.effectiveDateTime);
  if (startMs === undefined) return { ok: false, why: 'no effective date or period (when it was given)' };
  const stated = parseFhirInstant(p?.end);
  const endMs = Math.max(stated ?? startMs, startMs + DAY_MS);
  const how =
    stated !== undefined && stated > startMs
      ? `given ${day(startMs)} to ${day(stated)}`
      : `given ${day(startMs)} (one day's dose)`;
  return { ok: true, value: { startMs, endMs, start: iso(startMs), end: iso(endMs), how, expected: false }, how };
}

/**
 * Supply handed over: from whenHandedOver (else whenPrepared), for daysSupply, else the quantity at the
 * instructed units a day. A supply says how long it could last, not that it was taken: the end is a forecast,
 * and exposure counts only the days up to now.
 */
function dispensePeriod(
  md: MedicationDispense,
  dose: Known<DoseStep[]>,
  product: Product | undefined,
): Known<UsePeriod> {
  const handed = parseFhirInstant(md.whenHandedOver);
  const prepared = parseFhirInstant(md.whenPrepared);
  const startMs = handed ?? prepared;
  if (startMs === undefined) return { ok: false, why: 'no whenHandedOver or whenPrepared' };
  const startHow = handed !== undefined ? `handed over ${day(startMs)}` : `prepared ${day(startMs)}`;
  const limits: [number, string][] = [];
  const supply =
    daysOf(md.daysSupply) ?? (/^days?$/i.test(md.daysSupply?.unit ?? '') ? md.daysSupply?.value : undefined);
  if (typeof supply === 'number' && supply > 0) limits.push([supply, `${fmt(supply)} d supply`]);
  const qty = md.quantity?.value;
  const qtyUnit = (md.quantity?.code ?? md.quantity?.unit)?.trim();
  const doseUnit = firstDoseUnit(md.dosageInstruction);
  const upd = unitsPerDay(md.dosageInstruction);
  if (!limits.length && typeof qty === 'number' && upd && qtyUnit && doseUnit) {
    const packs =
      product?.packUnits && /^\{?(pack|pk|package|kit)s?\}?$/i.test(qtyUnit) ? product.packUnits : undefined;
    const units = packs ? qty * packs : sameUnit(qtyUnit, doseUnit) ? qty : undefined;
    if (units !== undefined)
      limits.push([units / upd, `${fmt(qty)} ${qtyUnit}${packs ? ` of ${packs}` : ''} at ${fmt(upd)} a day`]);
  }
  const timed = dose.ok ? boundedDays(dose.value) : undefined;
  if (timed !== undefined) limits.push([timed, 'the dosage timing (bounds or count)']);
  if (!limits.length) {
    const how = `${startHow} (no days supply given)`;
    return {
      ok: true,
      value: { startMs, endMs: startMs, start: iso(startMs), end: iso(startMs), how, expected: false },
      how: 'point',
    };
  }
  const [days, how] = limits.reduce((a, b) => (b[0] < a[0] ? b : a));
  const endMs = startMs + days * DAY_MS;
  return {
    ok: true,
    value: { startMs, endMs, start: iso(startMs), end: iso(endMs), how: `${startHow} + ${how}`, expected: true },
    how,
  };
}

/** MedicationAdministration.dosage as a FHIR Dosage: one dose (count 1), by its route. */
function administrationDosage(ma: MedicationAdministration): Dosage[] | undefined {
  const d = ma.dosage;
  if (!d) return undefined;
  return [
    {
      ...(d.text ? { text: d.text } : {}),
      ...(d.route ? { route: d.route } : {}),
      ...(d.dose ? { doseAndRate: [{ doseQuantity: d.dose }] } : {}),
      timing: { repeat: { count: 1 } },
    },
  ];
}

function dosagesOf(r: MedicationResource): Dosage[] | undefined {
  switch (r.resourceType) {
    case 'MedicationRequest':
      return r.dosageInstruction;
    case 'MedicationStatement':
      return r.dosage;
    case 'MedicationAdministration':
      return administrationDosage(r);
    case 'MedicationDispense':
      return r.dosageInstruction;
  }
}

export interface OrderScope {
  /** References of the resources that came in as draftOrders. */
  orders: Set<string>;
  /** References the hook is about (selections); absent means all orders. */
  focus?: Set<string>;
}

function refOf(r: MedicationResource): string {
  return `${r.resourceType}/${r.id ?? '(no id)'}`;
}

/** Whether a resource is exposure the rules weigh at all (by status and intent), before its medicine is known. */
function counts(r: MedicationResource, origin: 'order' | 'record'): boolean {
  // Orders may be draft (order-select) or, under order-sign 1.1, already active: which ones count is the caller's call.
  if (origin === 'record' && !ALLOWED[r.resourceType].has(r.status)) return false;
  // On the chart only real orders are exposure; a proposal or plan is not taken yet. Among draftOrders it is the point.
  const intents = origin === 'order' ? ORDER_INTENTS : RECORD_INTENTS;
  return !(r.resourceType === 'MedicationRequest' && r.intent && !intents.has(r.intent));
}

export function medicationUse(
  r: MedicationResource,
  k: Knowledge,
  asOf: Date,
  external: Map<string, Medication>,
  scope?: OrderScope,
): MedicationUse | undefined {
  const reference = refOf(r);
  const origin = scope?.orders.has(reference) ? 'order' : 'record';
  if (!counts(r, origin)) return undefined;

  const med = resolveMedication(r.medicationReference?.reference, r.contained, external);
  const productConcepts = [r.medicationCodeableConcept, med?.code];
  const products = productConcepts.flatMap((cc) => productsIn(cc, k.products));
  const concepts: (CodeableConcept | undefined)[] = [
    ...productConcepts,
    ...(med?.ingredient ?? []).map((i) => i.itemCodeableConcept),
  ];
  const matches = [
    ...MEDICATION_CODESETS.flatMap((id) => concepts.flatMap((cc) => matchConcepts(cc, k.codesets[id], id))),
    ...productMatches(products, k),
  ]
    // A name in free text is no stronger evidence than an unverified code: it never makes a card fire on its own.
    .map((m) => (m.basis === 'text' ? { ...m, verified: false } : m));
  if (!matches.length) return undefined;

  const dosages = dosagesOf(r);
  const names = [
    ...productConcepts.flatMap(textsOf),
    ...(r.medicationReference?.display ? [r.medicationReference.display] : []),
  ];
  // Dose in mg of the ingredient the rules weigh: the glucocorticoid, else the first ingredient recognised by code.
  const primary =
    matches.find((m) => m.codeset === 'glucocorticoids' && m.basis !== 'class') ??
    matches.find((m) => m.basis !== 'class');
  const dose = doseSteps(dosages, strengthResolver(med, products, primary?.concept.id, names, k));
  const gcMatches = matches.filter((m) => m.codeset === 'glucocorticoids');
  const name =
    textsOf(r.medicationCodeableConcept)[0] ??
    textsOf(med?.code)[0] ??
    r.medicationReference?.display ??
    matches[0]?.concept.display ??
    'medication';
  const verifiedProduct = products.find((p) => p.verification.status === 'verified');
  return {
    reference,
    hasId: !!r.id,
    kind: r.resourceType,
    origin,
    focus: origin === 'order' && (!scope?.focus || scope.focus.has(reference)),
    status: r.status,
    name,
    matches,
    route: judgeRoute(dosages, [...productConcepts, med?.form], gcMatches, k.codesets, verifiedProduct),
    dose,
    period:
      r.resourceType === 'MedicationRequest'
        ? requestPeriod(r, origin, asOf, dose, products[0])
        : r.resourceType === 'MedicationStatement'
          ? statementPeriod(r, asOf)
          : r.resourceType === 'MedicationAdministration'
            ? administrationPeriod(r)
            : dispensePeriod(r, dose, products[0]),
  };
}

const externalMap = (medications: Medication[]) =>
  new Map(medications.filter((m) => m.id).map((m) => [`Medication/${m.id}`, m]));

/**
 * Orders, statements, administrations and dispenses the rules would weigh whose medicine cannot be known: no
 * medicationCodeableConcept, and a medicationReference that resolves to nothing here (a `#id` with no such
 * contained Medication, a Medication neither sent nor readable). Each makes the medication list "could not be
 * checked": an unknown medicine is never read as no medicine.
 */
export function unresolvedMedications(
  resources: MedicationResource[],
  medications: Medication[],
  scope?: OrderScope,
): Unreadable[] {
  const external = externalMap(medications);
  const out: Unreadable[] = [];
  for (const r of resources) {
    const reference = refOf(r);
    const origin = scope?.orders.has(reference) ? 'order' : 'record';
    const ref = r.medicationReference?.reference?.trim();
    if (r.medicationCodeableConcept || !ref || !counts(r, origin)) continue;
    if (resolveMedication(ref, r.contained, external)) continue;
    const name = r.medicationReference?.display ?? 'a medicine';
    const where = ref.startsWith('#') ? 'no such contained Medication' : 'the Medication could not be read';
    out.push({
      domain: 'medications',
      reference,
      reason: `${name}: its medicine could not be identified (${where})`,
      ...(origin === 'order' && (!scope?.focus || scope.focus.has(reference)) ? { focus: true } : {}),
    });
  }
  return out;
}

export function medicationUses(
  requests: MedicationRequest[],
  statements: MedicationStatement[],
  medications: Medication[],
  k: Knowledge,
  asOf: Date,
  scope?: OrderScope,
  /** MedicationAdministration and MedicationDispense: doses given and supply handed over. */
  given: (MedicationAdministration | MedicationDispense)[] = [],
): MedicationUse[] {
  const external = externalMap(medications);
  const seen = new Set<string>();
  const out: MedicationUse[] = [];
  for (const r of [...requests, ...statements, ...given]) {
    const ref = refOf(r);
    // The same order can reach us twice (a chart search and draftOrders); the order copy wins.
    if (r.id && seen.has(ref)) continue;
    if (r.id) seen.add(ref);
    const u = medicationUse(r, k, asOf, external, scope);
    if (u) out.push(u);
  }
  return out;
}

/**
 * Glucocorticoids present on the record that cannot be read for the rules: a route code in neither the systemic
 * nor the local set, no published prednisone equivalence for the ingredient (deflazacort), or a dose stated in a
 * unit that cannot be converted to mg. Each makes the medication list "could not be checked" (never local, never
 * 0 mg/day, never absent).
 */
export function medicationUnreadables(uses: MedicationUse[], k: Knowledge): Unreadable[] {
  const out: Unreadable[] = [];
  for (const u of uses) {
    const gc = u.matches.filter((m) => m.codeset === 'glucocorticoids' && m.concept.id !== 'non-systemic-class');
    if (!gc.length || u.route.kind === 'local') continue;
    const ingredient = gc.find((m) => m.basis !== 'class') ?? gc[0];
    const reference = u.reference;
    if (u.route.kind === 'unknown') {
      out.push({ domain: 'medications', reference, reason: `${u.name}: the route could not be read (${u.route.how})` });
    } else if (ingredient && k.glucocorticoidEquivalence.prednisoneMgPerMg[ingredient.concept.id] === undefined) {
      out.push({
        domain: 'medications',
        reference,
        reason: `${u.name}: no published prednisone equivalence for ${ingredient.concept.display}, so its dose could not be converted`,
      });
    } else if (!u.dose.ok && u.dose.unreadable) {
      out.push({ domain: 'medications', reference, reason: `${u.name}: the dose could not be read (${u.dose.why})` });
    }
  }
  return out;
}
