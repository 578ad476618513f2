import type { CodeableConcept, Encounter, EpisodeOfCare, Period, Procedure, ServiceRequest } from 'fhir/r4';
import { type Codeset, type CodesetConcept, type ConceptMatch, matchConcepts, textsOf } from './codesets';
import type { ConditionFact } from './conditions';
import { parseFhirInstant, subtractMonths } from './dates';
import type { Knowledge } from './knowledge';
import { belongsToPatient } from './subject';

/*
 * Care that is recorded as something other than a Condition: hospice and palliative care as a Procedure, an
 * Encounter (its type, class, service type or discharge disposition), a ServiceRequest (a referral) or an
 * EpisodeOfCare. Only concepts whose code set entry names the resource type in `recordedAs` are looked for, and each
 * record counts while it lasts and for the concept's `recordCountsForMonths` after it ended. These records only ever
 * quiet a card, so a record whose status or date cannot be read counts (fail safe: quiet, never a wrong card).
 */

export type CareResource = Procedure | Encounter | ServiceRequest | EpisodeOfCare;

/** Statuses that say the care did not happen (R4): such a record is not care. */
const NOT_CARE: Record<CareResource['resourceType'], Set<string>> = {
  Procedure: new Set(['not-done', 'entered-in-error']),
  Encounter: new Set(['cancelled', 'entered-in-error']),
  ServiceRequest: new Set(['revoked', 'entered-in-error', 'draft']),
  EpisodeOfCare: new Set(['cancelled', 'entered-in-error']),
};
/** Statuses that say the care is still going on, whatever the dates say. */
const ONGOING: Record<CareResource['resourceType'], Set<string>> = {
  Procedure: new Set(['in-progress', 'on-hold', 'preparation']),
  Encounter: new Set(['in-progress', 'arrived', 'triaged', 'onleave', 'planned']),
  ServiceRequest: new Set(['active', 'on-hold']),
  EpisodeOfCare: new Set(['active', 'onhold', 'waitlist', 'planned']),
};

function setFor(k: Knowledge, type: CareResource['resourceType']): Codeset {
  const set = k.codesets.conditions;
  return { ...set, concepts: set.concepts.filter((c: CodesetConcept) => c.recordedAs?.includes(type)) };
}

/** The codes a record carries for what it is. */
function codesOf(r: CareResource): CodeableConcept[] {
  switch (r.resourceType) {
    case 'Procedure':
      return r.code ? [r.code] : [];
    case 'ServiceRequest':
      return r.code ? [r.code] : [];
    case 'EpisodeOfCare':
      return r.type ?? [];
    case 'Encounter':
      return [
        ...(r.type ?? []),
        ...(r.serviceType ? [r.serviceType] : []),
        ...(r.class ? [{ coding: [r.class] }] : []),
        ...(r.hospitalization?.dischargeDisposition ? [r.hospitalization.dischargeDisposition] : []),
      ];
  }
}

const end = (p: Period | undefined) => (p ? (p.end ? parseFhirInstant(p.end) : null) : undefined);

/**
 * When the record's care ended: a time, `null` when it has not ended (a period with no end), undefined when it
 * cannot be dated. A discharge to hospice starts hospice care when the encounter ends, so it counts from there too.
 */
function endedAt(r: CareResource): number | null | undefined {
  switch (r.resourceType) {
    case 'Procedure':
      return parseFhirInstant(r.performedDateTime) ?? end(r.performedPeriod);
    case 'Encounter':
      return end(r.period);
    case 'EpisodeOfCare':
      return end(r.period);
    case 'ServiceRequest':
      return parseFhirInstant(r.occurrenceDateTime) ?? end(r.occurrencePeriod) ?? parseFhirInstant(r.authoredOn);
  }
}

const subjectOf = (r: CareResource) => (r.resourceType === 'EpisodeOfCare' ? { subject: r.patient } : r);

export function careRecordFacts(
  records: CareResource[],
  patientRef: string,
  k: Knowledge,
  asOf: Date,
): ConditionFact[] {
  const out: ConditionFact[] = [];
  for (const r of records) {
    if (!belongsToPatient(subjectOf(r), patientRef)) continue;
    if (NOT_CARE[r.resourceType].has(r.status)) continue;
    const set = setFor(k, r.resourceType);
    if (!set.concepts.length) continue;
    const matches = new Map<string, ConceptMatch>();
    for (const cc of codesOf(r)) {
      for (const m of matchConcepts(cc, set, 'conditions')) {
        const had = matches.get(m.concept.id);
        if (!had || (had.basis === 'text' && m.basis !== 'text')) matches.set(m.concept.id, m);
      }
    }
    if (!matches.size) continue;
    const ended = endedAt(r);
    const ongoing = ONGOING[r.resourceType].has(r.status) || ended === null || ended === undefined;
    // Each concept says how long its care counts once it ended; the record counts while any of them does.
    const current = [...matches.values()].filter((m) => {
      if (ongoing) return true;
      const months = m.concept.recordCountsForMonths;
      return months !== undefined && (ended as number) >= subtractMonths(asOf, months).getTime();
    });
    if (!current.length) continue;
    out.push({
      reference: `${r.resourceType}/${r.id ?? '(no id)'}`,
      text: codesOf(r).flatMap(textsOf)[0] ?? current[0]?.concept.display ?? r.resourceType,
      matches: current,
      active: true,
      confirmed: true,
      ...(typeof ended === 'number' ? { abatementMs: ended } : {}),
    });
  }
  return out;
}
