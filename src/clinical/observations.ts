import type { Observation, Specimen } from 'fhir/r4';
import { parseFhirInstant } from './dates';
import type { AnalyteId, Knowledge } from './knowledge';
import { belongsToPatient } from './subject';
import type { LabValue, RejectedObservation } from './types';
import { toCanonical } from './units';

const FASTING_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0916';

function identify(obs: Observation, k: Knowledge): { analyte: AnalyteId; code: string; fasting: boolean } | undefined {
  for (const [analyte, def] of Object.entries(k.analytes) as [AnalyteId, Knowledge['analytes'][AnalyteId]][]) {
    for (const c of obs.code?.coding ?? []) {
      const hit = def.codes.find((d) => d.system === c.system && d.code === c.code);
      if (hit) return { analyte, code: hit.code, fasting: hit.fasting };
    }
  }
  return undefined;
}

/** A contained Specimen can state fasting explicitly (HL7 v2 table 0916, code F). */
function specimenSaysFasting(obs: Observation): boolean {
  const ref = obs.specimen?.reference;
  if (!ref?.startsWith('#')) return false;
  const spec = obs.contained?.find((r): r is Specimen => r.resourceType === 'Specimen' && r.id === ref.slice(1));
  return !!spec?.collection?.fastingStatusCodeableConcept?.coding?.some(
    (c) => c.system === FASTING_SYSTEM && c.code === 'F',
  );
}

const INTERPRETATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

/**
 * The result's reference range in the analyte's canonical unit: a limit without its own unit takes the value's. A
 * limit that cannot be converted is left out (a rule that needs it then cannot use the range).
 */
function referenceRangeOf(
  obs: Observation,
  analyte: AnalyteId,
  def: Knowledge['analytes'][AnalyteId],
  spellings: NonNullable<Knowledge['unitSpellings']>['spellings'],
): { low?: number; high?: number } | undefined {
  const rr = obs.referenceRange?.find((r) => r.low || r.high);
  if (!rr) return undefined;
  const q = obs.valueQuantity;
  const limit = (l: typeof rr.low) => {
    if (typeof l?.value !== 'number') return undefined;
    const unit = l.code || l.unit ? l : { ...l, unit: q?.unit, code: q?.code, system: q?.system };
    const c = toCanonical(analyte, def, unit, spellings);
    return c.ok ? c.value : undefined;
  };
  const low = limit(rr.low);
  const high = limit(rr.high);
  if (low === undefined && high === undefined) return undefined;
  return { ...(low !== undefined ? { low } : {}), ...(high !== undefined ? { high } : {}) };
}

function interpretationOf(obs: Observation): string[] {
  return (obs.interpretation ?? []).flatMap((cc) =>
    (cc.coding ?? [])
      .filter((c) => c.code && (!c.system || c.system === INTERPRETATION_SYSTEM))
      .map((c) => c.code as string),
  );
}

function effectiveOf(obs: Observation): string | undefined {
  return obs.effectiveDateTime ?? obs.effectiveInstant ?? obs.effectivePeriod?.start;
}

/**
 * R0 data-quality gate: keeps final/amended/corrected numeric results of the analytes we know,
 * in canonical units and within plausibility ranges; everything else is returned with the reason.
 */
export function normaliseObservations(
  observations: Observation[],
  patientRef: string,
  k: Knowledge,
): { labs: LabValue[]; rejected: RejectedObservation[] } {
  const labs: LabValue[] = [];
  const rejected: RejectedObservation[] = [];
  const seen = new Set<string>();
  for (const obs of observations) {
    const reference = `Observation/${obs.id ?? '(no id)'}`;
    const id = identify(obs, k);
    if (!id) continue; // not one of ours: context resources are not errors
    if (obs.id && seen.has(obs.id)) continue; // the same result reached us through two prefetch keys
    if (obs.id) seen.add(obs.id);
    const effective = effectiveOf(obs);
    const effectiveMs = parseFhirInstant(effective);
    const when = effective && effectiveMs !== undefined ? { effective, effectiveMs } : {};
    const reject = (reason: string, extra: Partial<RejectedObservation> = {}) =>
      rejected.push({ reference, analyte: id.analyte, reason, ...when, ...extra });
    if (!belongsToPatient(obs, patientRef)) {
      reject('belongs to another patient', { otherPatient: true });
      continue;
    }
    if (!k.observationStatuses.includes(obs.status)) {
      reject(`status "${obs.status}" is not final, amended or corrected`);
      continue;
    }
    if (!effective || effectiveMs === undefined) {
      reject('no specimen date (effective[x])');
      continue;
    }
    if (!obs.valueQuantity) {
      reject('no numeric valueQuantity', { unreadable: true });
      continue;
    }
    const def = k.analytes[id.analyte];
    const spellings = k.unitSpellings?.spellings ?? [];
    const q = obs.valueQuantity;
    if (q.comparator) {
      // A bound is not a value: no equation takes it, but a rule may read it where it alone decides.
      const { comparator: _bound, ...plain } = q;
      const b = toCanonical(id.analyte, def, plain, spellings);
      reject(
        `reported as a bound ("${q.comparator}${q.value ?? ''} ${q.unit ?? q.code ?? ''}"), not a value`.replace(
          ' ")',
          '")',
        ),
        {
          unreadable: true,
          ...(b.ok
            ? {
                bound: {
                  comparator: q.comparator as NonNullable<RejectedObservation['bound']>['comparator'],
                  value: b.value,
                  unit: b.unit,
                },
              }
            : {}),
        },
      );
      continue;
    }
    const c = toCanonical(id.analyte, def, q, spellings);
    if (!c.ok) {
      reject(c.reason, { unreadable: true });
      continue;
    }
    if (c.value < def.plausible.low || c.value > def.plausible.high) {
      reject(
        `value ${c.value.toPrecision(3)} ${c.unit} outside plausible range ${def.plausible.low}–${def.plausible.high}`,
        { unreadable: true },
      );
      continue;
    }
    const range = referenceRangeOf(obs, id.analyte, def, spellings);
    const flags = interpretationOf(obs);
    labs.push({
      analyte: id.analyte,
      reference,
      code: id.code,
      value: c.value,
      unit: c.unit,
      original: {
        value: obs.valueQuantity.value as number,
        unit: obs.valueQuantity.code ?? obs.valueQuantity.unit ?? '',
      },
      ...(c.conversion ? { conversion: c.conversion } : {}),
      effective,
      effectiveMs,
      fasting: id.fasting || specimenSaysFasting(obs),
      ...(obs.specimen?.reference ? { specimen: obs.specimen.reference } : {}),
      ...(range ? { referenceRange: range } : {}),
      ...(flags.length ? { interpretation: flags } : {}),
    });
  }
  labs.sort((a, b) => b.effectiveMs - a.effectiveMs);
  return { labs, rejected };
}

export interface Pair {
  a: LabValue;
  b: LabValue;
}

/**
 * Every pair of results drawn together (within `maxGapMs` of each other, or on one specimen), both inside the
 * look-back window, best first: newest (the later of the two draws) first, then the closer pair, then input order.
 */
export function pairsDrawnTogether(
  as: LabValue[],
  bs: LabValue[],
  maxGapMs: number,
  sinceMs: number,
  accept: (a: LabValue, b: LabValue) => boolean = () => true,
): Pair[] {
  const found: { pair: Pair; newest: number; gap: number; order: number }[] = [];
  for (const a of as) {
    if (a.effectiveMs < sinceMs) continue;
    for (const b of bs) {
      if (b.effectiveMs < sinceMs) continue;
      const gap = Math.abs(a.effectiveMs - b.effectiveMs);
      const sameSpecimen = !!a.specimen && a.specimen === b.specimen && !a.specimen.startsWith('#');
      if (gap > maxGapMs && !sameSpecimen) continue;
      if (!accept(a, b)) continue;
      found.push({ pair: { a, b }, newest: Math.max(a.effectiveMs, b.effectiveMs), gap, order: found.length });
    }
  }
  return found.sort((x, y) => y.newest - x.newest || x.gap - y.gap || x.order - y.order).map((f) => f.pair);
}

/** The newest pair of results drawn together: the first of `pairsDrawnTogether`. */
export function newestPair(
  as: LabValue[],
  bs: LabValue[],
  maxGapMs: number,
  sinceMs: number,
  accept: (a: LabValue, b: LabValue) => boolean = () => true,
): Pair | undefined {
  return pairsDrawnTogether(as, bs, maxGapMs, sinceMs, accept)[0];
}
