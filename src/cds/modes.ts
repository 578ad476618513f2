import { createHmac } from 'node:crypto';
import type { Encounter, Resource } from 'fhir/r4';
import type { Knowledge, PilotCohort, RuleMode } from '../clinical';

/**
 * How one rule's card reached (or did not reach) the clinician in one call: `active` and `pilot-in` are shown,
 * `silent` and `pilot-out` are evaluated and audited but withheld. A closed set: it labels metrics and audit rows.
 */
export type Delivery = 'active' | 'silent' | 'pilot-in' | 'pilot-out';
export const DELIVERIES: readonly Delivery[] = ['active', 'silent', 'pilot-in', 'pilot-out'];

export const isShown = (d: Delivery): boolean => d === 'active' || d === 'pilot-in';

/** Who and where a call is for: what a pilot cohort is drawn by. */
export interface Audience {
  /** The hook's userId, e.g. `Practitioner/123`. */
  userId: string;
  patientId: string;
  /** `Location/<id>` of the encounter in context, when it was asked for and could be read. */
  locations: readonly string[];
}

type RuleId = keyof Knowledge['rules'];

export function modeOf(knowledge: Knowledge, ruleId: string): RuleMode {
  return (knowledge.rules[ruleId as RuleId] as { mode?: RuleMode } | undefined)?.mode ?? 'active';
}

const pilotOf = (m: RuleMode): PilotCohort | undefined => (typeof m === 'object' ? m.pilot : undefined);

/**
 * Where the patient falls in [0, 1): HMAC-SHA256 of the patient reference under the site's pilot key. Without the
 * key nobody can tell which patients a fraction picks; with it the answer is the same on every call, every replica
 * and every restart. One draw per patient for every rule, so a fraction that grows keeps the patients it had.
 */
export function patientShare(key: Buffer, patientId: string): number {
  const mac = createHmac('sha256', key).update(`crosstalk-pilot\u0000Patient/${patientId}`).digest();
  return mac.readUIntBE(0, 6) / 2 ** 48;
}

/** In the cohort when any one of its lists names the call's user or location, or its fraction draws the patient. */
export function inCohort(c: PilotCohort, who: Audience, key: Buffer | undefined): boolean {
  if (c.practitioners?.includes(who.userId)) return true;
  if (c.locations?.some((l) => who.locations.includes(l))) return true;
  // No key, no draw: start-up and reload refuse a fraction without one, so this only guards a mistake.
  return c.patientFraction !== undefined && key !== undefined && patientShare(key, who.patientId) < c.patientFraction;
}

export function deliveryOf(mode: RuleMode, who: Audience, key: Buffer | undefined): Delivery {
  if (mode === 'active' || mode === 'silent') return mode;
  return inCohort(mode.pilot, who, key) ? 'pilot-in' : 'pilot-out';
}

/** Each rule's delivery for this call, in the order the rules run. */
export function deliveries(
  ruleIds: readonly string[],
  knowledge: Knowledge,
  who: Audience,
  key: Buffer | undefined,
): Map<string, Delivery> {
  return new Map(ruleIds.map((id) => [id, deliveryOf(modeOf(knowledge, id), who, key)]));
}

/** A pilot of these rules lists locations: only then is the encounter read to find where the call is. */
export function needsLocation(ruleIds: readonly string[], knowledge: Knowledge): boolean {
  return ruleIds.some((id) => !!pilotOf(modeOf(knowledge, id))?.locations);
}

export function usesPatientFraction(knowledge: Knowledge): boolean {
  return Object.keys(knowledge.rules).some((id) => pilotOf(modeOf(knowledge, id))?.patientFraction !== undefined);
}

/** The locations of an Encounter (Encounter.location[].location), as `Location/<id>` references. */
export function encounterLocations(resources: readonly Resource[]): string[] {
  const e = resources.find((r): r is Encounter => r.resourceType === 'Encounter');
  return (e?.location ?? []).flatMap((l) => (typeof l?.location?.reference === 'string' ? [l.location.reference] : []));
}

/** Rules that are not plainly active, as a log line and the operator's report show them (no patient data). */
export function nonActiveRules(knowledge: Knowledge): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of Object.keys(knowledge.rules)) {
    const m = modeOf(knowledge, id);
    if (m === 'active') continue;
    if (m === 'silent') {
      out[id] = 'silent';
      continue;
    }
    const p = m.pilot;
    const parts = [
      ...(p.practitioners ? [`${p.practitioners.length} practitioner(s)`] : []),
      ...(p.locations ? [`${p.locations.length} location(s)`] : []),
      ...(p.patientFraction !== undefined ? [`${p.patientFraction * 100}% of patients`] : []),
    ];
    out[id] = `pilot: ${parts.join(', ')}`;
  }
  return out;
}
