import type { DiagnosticReport, Observation, Procedure, ServiceRequest } from 'fhir/r4';
import { type ConceptMatch, matchConcepts, textsOf } from './codesets';
import type { Unreadable } from './context';
import { parseFhirInstant } from './dates';
import type { Knowledge } from './knowledge';

/**
 * A DXA that was done: a T-score Observation, a BMD or Z-score Observation (a bone density measured, whether or not a
 * T-score was reported), a DXA DiagnosticReport, or a completed DXA Procedure (CPT, SNOMED CT).
 */
export interface BoneDensityTest {
  reference: string;
  effectiveMs: number;
  effective: string;
  what: string;
  tScore?: number;
  match: ConceptMatch;
}

/** A DXA that is ordered but not yet done: on the chart, or among the orders being placed now. */
export interface BoneDensityOrder {
  reference: string;
  status: string;
  origin: 'record' | 'order';
  what: string;
  match: ConceptMatch;
}

const REPORT_STATUSES = new Set(['final', 'amended', 'corrected', 'appended']);
const PENDING = new Set(['active', 'on-hold']);

function concept(k: Knowledge, ...ids: string[]) {
  const set = k.codesets.observations;
  return { ...set, concepts: set.concepts.filter((c) => ids.includes(c.id)) };
}

export function boneDensityTests(
  observations: Observation[],
  reports: DiagnosticReport[],
  k: Knowledge,
  procedures: Procedure[] = [],
): BoneDensityTest[] {
  const out: BoneDensityTest[] = [];
  const tScores = concept(k, 'dxa-t-score');
  const measured = concept(k, 'dxa-bmd');
  for (const o of observations) {
    if (!k.observationStatuses.includes(o.status)) continue;
    const t = matchConcepts(o.code, tScores, 'observations')[0];
    // A BMD or Z-score without a T-score is still a DXA done on that date; only a T-score carries a T-score value.
    const m = t ?? matchConcepts(o.code, measured, 'observations')[0];
    const effective = o.effectiveDateTime ?? o.effectiveInstant ?? o.effectivePeriod?.start;
    const effectiveMs = parseFhirInstant(effective);
    if (!m || !effective || effectiveMs === undefined) continue;
    out.push({
      reference: `Observation/${o.id ?? '(no id)'}`,
      effectiveMs,
      effective,
      what: textsOf(o.code)[0] ?? m.concept.display,
      ...(t && typeof o.valueQuantity?.value === 'number' ? { tScore: o.valueQuantity.value } : {}),
      match: m,
    });
  }
  const dxaReports = concept(k, 'dxa-report');
  for (const r of reports) {
    if (!REPORT_STATUSES.has(r.status)) continue;
    const m = matchConcepts(r.code, dxaReports, 'observations')[0];
    const effective = r.effectiveDateTime ?? r.effectivePeriod?.start ?? r.issued;
    const effectiveMs = parseFhirInstant(effective);
    if (!m || !effective || effectiveMs === undefined) continue;
    out.push({
      reference: `DiagnosticReport/${r.id ?? '(no id)'}`,
      effectiveMs,
      effective,
      what: textsOf(r.code)[0] ?? m.concept.display,
      match: m,
    });
  }
  const dxaProcedures = concept(k, 'dxa-procedure');
  for (const p of procedures) {
    // Only a DXA that was done (R4 Procedure.status completed) is an assessment; in-progress has no result yet.
    if (p.status !== 'completed') continue;
    const m = matchConcepts(p.code, dxaProcedures, 'observations')[0];
    const effective = p.performedDateTime ?? p.performedPeriod?.start ?? p.performedPeriod?.end;
    const effectiveMs = parseFhirInstant(effective);
    if (!m || !effective || effectiveMs === undefined) continue;
    out.push({
      reference: `Procedure/${p.id ?? '(no id)'}`,
      effectiveMs,
      effective,
      what: textsOf(p.code)[0] ?? m.concept.display,
      match: m,
    });
  }
  return out.sort((a, b) => b.effectiveMs - a.effectiveMs);
}

export function boneDensityOrders(
  requests: ServiceRequest[],
  orderRefs: Set<string>,
  k: Knowledge,
): BoneDensityOrder[] {
  const out: BoneDensityOrder[] = [];
  // A DXA is ordered by its report code (LOINC) or by its procedure code (CPT, SNOMED CT).
  const dxa = concept(k, 'dxa-report', 'dxa-procedure');
  for (const s of requests) {
    const reference = `ServiceRequest/${s.id ?? '(no id)'}`;
    const origin = orderRefs.has(reference) ? 'order' : 'record';
    // In the chart only a live order counts; among the orders being signed, a draft is exactly the point.
    if (!(PENDING.has(s.status) || (origin === 'order' && s.status === 'draft'))) continue;
    const m = matchConcepts(s.code, dxa, 'observations')[0];
    if (!m) continue;
    out.push({ reference, status: s.status, origin, what: textsOf(s.code)[0] ?? m.concept.display, match: m });
  }
  return out;
}

/** A completed DXA Procedure that cannot be dated: a DXA was done, but whether it is recent cannot be told. */
export function undatedBoneDensity(procedures: Procedure[], k: Knowledge): Unreadable[] {
  const dxa = concept(k, 'dxa-procedure');
  return procedures
    .filter((p) => p.status === 'completed' && matchConcepts(p.code, dxa, 'observations').length)
    .filter(
      (p) => parseFhirInstant(p.performedDateTime ?? p.performedPeriod?.start ?? p.performedPeriod?.end) === undefined,
    )
    .map((p) => ({
      domain: 'bone-density' as const,
      reference: `Procedure/${p.id ?? '(no id)'}`,
      reason: 'a completed DXA procedure without a date it was performed',
    }));
}
