import type { DiagnosticReport, Observation, ServiceRequest } from 'fhir/r4';
import { type ConceptMatch, matchConcepts, textsOf } from './codesets';
import { parseFhirInstant } from './dates';
import type { Knowledge } from './knowledge';

/** A DXA that was done: a T-score Observation or a DXA DiagnosticReport. */
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

function concept(k: Knowledge, id: string) {
  const set = k.codesets.observations;
  return { ...set, concepts: set.concepts.filter((c) => c.id === id) };
}

export function boneDensityTests(
  observations: Observation[],
  reports: DiagnosticReport[],
  k: Knowledge,
): BoneDensityTest[] {
  const out: BoneDensityTest[] = [];
  const tScores = concept(k, 'dxa-t-score');
  for (const o of observations) {
    if (!k.observationStatuses.includes(o.status)) continue;
    const m = matchConcepts(o.code, tScores, 'observations')[0];
    const effective = o.effectiveDateTime ?? o.effectiveInstant ?? o.effectivePeriod?.start;
    const effectiveMs = parseFhirInstant(effective);
    if (!m || !effective || effectiveMs === undefined) continue;
    out.push({
      reference: `Observation/${o.id ?? '(no id)'}`,
      effectiveMs,
      effective,
      what: textsOf(o.code)[0] ?? m.concept.display,
      ...(typeof o.valueQuantity?.value === 'number' ? { tScore: o.valueQuantity.value } : {}),
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
  return out.sort((a, b) => b.effectiveMs - a.effectiveMs);
}

export function boneDensityOrders(
  requests: ServiceRequest[],
  orderRefs: Set<string>,
  k: Knowledge,
): BoneDensityOrder[] {
  const out: BoneDensityOrder[] = [];
  const dxa = concept(k, 'dxa-report');
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
