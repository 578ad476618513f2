import { UcumLhcUtils, type UcumUnit } from '@lhncbc/ucum-lhc';
import type { Quantity } from 'fhir/r4';
import { significant } from './format';
import type { AnalyteId, AnalyteKnowledge, UnitSpelling } from './knowledge';

const UCUM_SYSTEM = 'http://unitsofmeasure.org';
const ucum = UcumLhcUtils.getInstance();

export type Canonical = { ok: true; value: number; unit: string; conversion?: string } | { ok: false; reason: string };

/** The knowledge file's spelling for this analyte, compared without spaces (`umol / L`). */
export function spelledUnit(raw: string, analyte: AnalyteId, spellings: readonly UnitSpelling[]): string | undefined {
  if (!spellings.length) return undefined;
  const squeezed = raw.replace(/\s+/g, '');
  return spellingIndex(spellings)
    .get(squeezed)
    ?.find((s) => !s.analytes || s.analytes.includes(analyte))?.ucum;
}

// The knowledge's spellings, squeezed once per list rather than each one on every observation, in list order.
const spellingIndexes = new WeakMap<readonly UnitSpelling[], Map<string, UnitSpelling[]>>();
function spellingIndex(spellings: readonly UnitSpelling[]): Map<string, UnitSpelling[]> {
  let index = spellingIndexes.get(spellings);
  if (!index) {
    index = new Map();
    for (const s of spellings) {
      const key = s.spelling.replace(/\s+/g, '');
      const same = index.get(key);
      if (same) same.push(s);
      else index.set(key, [s]);
    }
    spellingIndexes.set(spellings, index);
  }
  return index;
}

/**
 * Labs often send `µIU/mL`, `MG/DL` or `kg/m^2` in `unit` with no UCUM `code`; UCUM itself is ASCII and
 * case-sensitive. The spellings the knowledge file lists are mapped (per analyte: `mU/L` is milli-international
 * units only on an insulin result); anything else must be valid UCUM as sent (µ read as its ASCII `u`). A unit
 * that is neither is never guessed.
 */
function unitCode(q: Quantity, analyte: AnalyteId, spellings: readonly UnitSpelling[]): string | undefined {
  // The UCUM code first when the quantity says it is UCUM, then whatever else it sent.
  const candidates = [q.system === UCUM_SYSTEM ? q.code : undefined, q.code, q.unit].filter(
    (u): u is string => !!u?.trim(),
  );
  for (const raw of new Set(candidates)) {
    const code = spelledUnit(raw, analyte, spellings) ?? validUcum(raw.replace(/\s+/g, ''));
    if (code) return code;
  }
  return undefined;
}

function validUcum(raw: string): string | undefined {
  const known = checkedUnits.get(raw);
  if (known !== undefined || checkedUnits.has(raw)) return known;
  const cleaned = raw.trim().replace(/[µμ]/g, 'u');
  const checked = ucum.validateUnitString(cleaned, false);
  const code = checked.status === 'valid' ? (checked.ucumCode ?? cleaned) : undefined;
  // Labs send a handful of unit spellings; parsing each again on every call is most of a conversion's
  // cost. Bounded, so a stream of made-up units cannot grow it.
  if (checkedUnits.size >= CHECKED_UNITS_MAX) checkedUnits.clear();
  checkedUnits.set(raw, code);
  return code;
}

const CHECKED_UNITS_MAX = 512;
const checkedUnits = new Map<string, string | undefined>();

const fmt = (n: number): string => significant(n, 4);

type Pair = { kind: 'normal' | 'mol|mass'; from: UcumUnit; to: UcumUnit };
const PAIRS_MAX = 256;
const pairs = new Map<string, Pair>();

/**
 * `ucum.convertUnitTo`, with the two units parsed once per pair: parsing both strings was most of a conversion's
 * cost, and a lab sends the same few pairs on every call. The arithmetic is the library's own call on the units
 * it parsed (`convertFrom`, `convertMolMass`), so each value converts exactly as before. Pairs of any other kind,
 * and pairs that failed, take the library's whole path every time. Bounded, like the unit check above.
 */
function convertUnit(from: string, value: number, to: string, molecularWeight?: number): number | undefined {
  const key = `${from}\u0000${to}\u0000${molecularWeight ?? ''}`;
  const pair = pairs.get(key);
  if (pair) {
    try {
      const v =
        pair.kind === 'normal'
          ? pair.to.convertFrom(value, pair.from)
          : pair.from.convertMolMass(value, pair.to, molecularWeight as number);
      return typeof v === 'number' ? v : undefined;
    } catch {
      return undefined;
    }
  }
  const r = ucum.convertUnitTo(from, value, to, molecularWeight ? { molecularWeight } : undefined);
  if (r.status !== 'succeeded' || r.toVal === null) return undefined;
  if (r.fromUnit && r.toUnit) {
    const kind = ucum.detectConversionType(r.fromUnit, r.toUnit);
    if (kind === 'normal' || (kind === 'mol|mass' && molecularWeight)) {
      if (pairs.size >= PAIRS_MAX) pairs.clear();
      pairs.set(key, { kind, from: r.fromUnit, to: r.toUnit });
    }
  }
  return r.toVal;
}

/** UCUM refuses arbitrary units such as [IU]; within one analyte the unit cancels, so scale a stand-in. */
function convertArbitrary(value: number, from: string, to: string): number | undefined {
  const stand = (u: string) => u.replace(/\[IU\]/g, 'g');
  return convertUnit(stand(from), value, stand(to));
}

/**
 * Brings a quantity to the analyte's canonical unit (creatinine mg/dL, cystatin C mg/L,
 * insulin µIU/mL, glucose mmol/L) and says how, so the card can show the conversion.
 */
export function toCanonical(
  analyte: AnalyteId,
  k: AnalyteKnowledge,
  q: Quantity,
  spellings: readonly UnitSpelling[] = [],
): Canonical {
  if (typeof q.value !== 'number' || !Number.isFinite(q.value)) return { ok: false, reason: 'no numeric value' };
  if (q.comparator) return { ok: false, reason: `value has comparator "${q.comparator}"` };
  const from = unitCode(q, analyte, spellings);
  if (!from) return { ok: false, reason: `unit "${q.code ?? q.unit ?? ''}" is not a UCUM unit` };
  const to = k.canonicalUnit;
  if (from === to) return { ok: true, value: q.value, unit: to };

  // International units are arbitrary: between two spellings of them (µIU/mL, mIU/L) only the prefixes differ.
  if (from.includes('[IU]') && to.includes('[IU]') && analyte !== 'insulin') {
    const v = convertArbitrary(q.value, from, to);
    if (v === undefined) return { ok: false, reason: `cannot convert ${from} to ${to}` };
    return { ok: true, value: v, unit: to, conversion: `${fmt(q.value)} ${from} = ${fmt(v)} ${to}` };
  }
  if (analyte === 'insulin') {
    if (from.includes('[IU]')) {
      const v = convertArbitrary(q.value, from, to);
      if (v === undefined) return { ok: false, reason: `cannot convert ${from} to ${to}` };
      return { ok: true, value: v, unit: to, conversion: `${fmt(q.value)} ${from} = ${fmt(v)} ${to}` };
    }
    const factor = k.pmolPerMicroIU;
    const pmol = convertUnit(from, q.value, 'pmol/L');
    if (!factor || pmol === undefined) {
      return { ok: false, reason: `cannot convert ${from} to ${to}` };
    }
    const v = pmol / factor;
    return {
      ok: true,
      value: v,
      unit: to,
      conversion: `${fmt(q.value)} ${from} ÷ ${factor.toFixed(2)} pmol/L per µIU/mL = ${fmt(v)} ${to}`,
    };
  }

  const v = convertUnit(from, q.value, to, k.molecularWeight);
  if (v === undefined) return { ok: false, reason: `cannot convert ${from} to ${to}` };
  const mw =
    k.molecularWeight && /mol/.test(from) !== /mol/.test(to)
      ? ` (UCUM, molecular weight ${k.molecularWeight} g/mol)`
      : ' (UCUM)';
  return { ok: true, value: v, unit: to, conversion: `${fmt(q.value)} ${from} = ${fmt(v)} ${to}${mw}` };
}

const MG_PER_UNIT_MAX = 256;
const mgPerUnit = new Map<string, number | undefined>();

/** mg in one `code` of UCUM mass, or undefined when `code` is not a mass unit (mL, [iU], {tbl}, mmol). */
function mgPer(code: string): number | undefined {
  const r = ucum.convertUnitTo(code, 1, 'mg');
  return r.status === 'succeeded' && typeof r.toVal === 'number' && Number.isFinite(r.toVal) && r.toVal > 0
    ? r.toVal
    : undefined;
}

/** A gram with or without a metric prefix, in any case: the only mass units a dose is written in. */
const DOSE_MASS = /^(k|m|u|n|p)?g$/i;

/**
 * The one reader of dose mass units (dose quantities, Medication.ingredient strengths, product strengths and
 * strengths in display names): UCUM through @lhncbc/ucum-lhc, after the spellings prescribing systems send for
 * UCUM's ASCII codes (µg or μg for ug, mcg, MG). Case is folded only for a prefixed gram: "U" (insulin units)
 * must never become UCUM's "u" (atomic mass unit). A unit that is not a mass gives undefined, never a guess.
 */
export function mgPerMassUnit(raw: string): number | undefined {
  const key = raw.trim();
  if (!key) return undefined;
  if (mgPerUnit.has(key)) return mgPerUnit.get(key);
  const ascii = key.replace(/[µμ]/g, 'u').replace(/^mcg$/i, 'ug');
  const code = DOSE_MASS.test(ascii) ? validUcum(ascii.toLowerCase()) : undefined;
  const factor = code ? mgPer(code) : undefined;
  if (mgPerUnit.size >= MG_PER_UNIT_MAX) mgPerUnit.clear();
  mgPerUnit.set(key, factor);
  return factor;
}
