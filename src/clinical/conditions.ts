import type { Age, CodeableConcept, Condition, Period, Range } from 'fhir/r4';
import { type ConceptMatch, matchConcepts, textsOf } from './codesets';
import type { Unreadable } from './context';
import { DAY_MS, parseFhirInstant } from './dates';
import type { Knowledge } from './knowledge';
import { belongsToPatient } from './subject';

/*
 * Condition read as FHIR R4 defines it (docs/fhir-reading.md, "Condition, Procedure and Encounter"):
 * verificationStatus decides whether a diagnosis may start a card (confirmed) or only quiet one (unconfirmed,
 * provisional, differential); clinicalStatus and abatement[x] decide whether it is current; each concept's
 * `countsWhen` (code set data) decides whether it must be current to count at all.
 */

/** A Condition (or a care record read as one: hospice, palliative care) reduced to what the rules ask. */
export interface ConditionFact {
  reference: string;
  text: string;
  matches: ConceptMatch[];
  /** Current now: clinicalStatus active, recurrence or relapse; with no clinicalStatus, not abated. */
  active: boolean;
  clinicalStatus?: string;
  /**
   * Confirmed (or no verificationStatus: US Core and R4 make it optional, and a problem-list entry without one is
   * the clinician's own entry). Only a confirmed fact may start a card; an unconfirmed one may still quiet one.
   */
  confirmed: boolean;
  verificationStatus?: string;
  onsetMs?: number;
  /** When it ended, where abatement[x] gives a date (dateTime, Period, or Age/Range with the birth date). */
  abatementMs?: number;
  /** abatement[x] is present (a date, an age, a range or words): the condition has ended, even if we cannot date it. */
  abated?: boolean;
  /**
   * Shown by a result, not recorded as a Condition (a pregnancy status, thyrotoxicosis by TSH and free T4): it holds
   * from onsetMs to abatementMs only, and counts where a state changes what a lab means, never as a diagnosis.
   */
  observed?: true;
}

const CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const VERIFICATION = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
const CLINICAL_CODES = new Set(['active', 'recurrence', 'relapse', 'inactive', 'remission', 'resolved']);
const VERIFICATION_CODES = new Set([
  'unconfirmed',
  'provisional',
  'differential',
  'confirmed',
  'refuted',
  'entered-in-error',
]);
const ACTIVE = new Set(['active', 'recurrence', 'relapse']);
const NOT_TRUE = new Set(['refuted', 'entered-in-error']);

type StatusRead = { code?: string; unknown?: string };

/** The status code of its own system; a coding in another system alone (or an unknown code) cannot be read. */
function statusOf(cc: CodeableConcept | undefined, system: string, codes: Set<string>): StatusRead {
  if (!cc) return {};
  const own = cc.coding?.find((c) => c.system === system && c.code);
  const code = own?.code ?? cc.coding?.find((c) => c.code && codes.has(c.code))?.code;
  if (code && codes.has(code)) return { code };
  const shown = own?.code ?? cc.coding?.find((c) => c.code)?.code ?? cc.text;
  return shown ? { unknown: shown } : {};
}

const YEAR_MS = 365.25 * DAY_MS;
const AGE_UNIT_MS: Record<string, number> = {
  a: YEAR_MS,
  mo: YEAR_MS / 12,
  wk: 7 * DAY_MS,
  d: DAY_MS,
  h: DAY_MS / 24,
  min: 60_000,
};

/** An Age (UCUM a, mo, wk, d…) as an instant from the birth date; undefined without either. */
function atAge(age: Age | undefined, birthMs: number | undefined): number | undefined {
  if (!age || typeof age.value !== 'number' || birthMs === undefined) return undefined;
  const unit = AGE_UNIT_MS[age.code ?? age.unit ?? ''];
  return unit === undefined ? undefined : birthMs + age.value * unit;
}

function rangeAt(range: Range | undefined, birthMs: number | undefined, end: 'low' | 'high'): number | undefined {
  const q = range?.[end] ?? range?.[end === 'low' ? 'high' : 'low'];
  return atAge(q as Age | undefined, birthMs);
}

const periodStart = (p: Period | undefined) => parseFhirInstant(p?.start ?? p?.end);
const periodEnd = (p: Period | undefined) => parseFhirInstant(p?.end ?? p?.start);

/** onset[x], every type (dateTime, Age, Period, Range, string), then recordedDate; undefined when undatable. */
export function onsetOf(c: Condition, birthMs?: number): number | undefined {
  return (
    parseFhirInstant(c.onsetDateTime) ??
    periodStart(c.onsetPeriod) ??
    atAge(c.onsetAge, birthMs) ??
    rangeAt(c.onsetRange, birthMs, 'low') ??
    parseFhirInstant(c.recordedDate)
  );
}

/** abatement[x], every type: when it is dated, and whether it is there at all (a string still says "it ended"). */
export function abatementOf(c: Condition, birthMs?: number): { abated: boolean; ms?: number } {
  const abated =
    c.abatementDateTime !== undefined ||
    c.abatementPeriod !== undefined ||
    c.abatementAge !== undefined ||
    c.abatementRange !== undefined ||
    (c.abatementString !== undefined && c.abatementString.trim().length > 0) ||
    // R4 has no abatementBoolean; DSTU2/STU3 senders still write it.
    (c as { abatementBoolean?: boolean }).abatementBoolean === true;
  const ms =
    parseFhirInstant(c.abatementDateTime) ??
    periodEnd(c.abatementPeriod) ??
    atAge(c.abatementAge, birthMs) ??
    rangeAt(c.abatementRange, birthMs, 'high');
  return { abated, ...(ms !== undefined ? { ms } : {}) };
}

export interface ConditionReading {
  facts: ConditionFact[];
  /** Conditions of a concept we know whose status cannot be read: the problem list could not be checked. */
  unreadable: Unreadable[];
}

export interface ConditionOptions {
  birthDate?: string;
  asOfMs?: number;
}

/** Conditions we know, refuted and mistaken ones dropped; resolved ones kept (a healed fracture is history that counts). */
export function readConditions(
  conditions: Condition[],
  patientRef: string,
  k: Knowledge,
  opts: ConditionOptions = {},
): ConditionReading {
  const facts: ConditionFact[] = [];
  const unreadable: Unreadable[] = [];
  const birthMs = parseFhirInstant(opts.birthDate);
  for (const c of conditions) {
    if (!belongsToPatient(c, patientRef)) continue;
    const matches = matchConcepts(c.code, k.codesets.conditions, 'conditions');
    if (!matches.length) continue;
    const reference = `Condition/${c.id ?? '(no id)'}`;
    const verification = statusOf(c.verificationStatus, VERIFICATION, VERIFICATION_CODES);
    if (verification.code && NOT_TRUE.has(verification.code)) continue;
    const clinical = statusOf(c.clinicalStatus, CLINICAL, CLINICAL_CODES);
    if (verification.unknown !== undefined || clinical.unknown !== undefined) {
      // A status we cannot read is neither "confirmed" nor "resolved": the problem list cannot be trusted either way.
      const what = verification.unknown !== undefined ? 'verificationStatus' : 'clinicalStatus';
      unreadable.push({
        domain: 'conditions',
        reference,
        reason: `${what} "${verification.unknown ?? clinical.unknown}" is not a FHIR R4 ${what} code`,
      });
      continue;
    }
    const onsetMs = onsetOf(c, birthMs);
    const abatement = abatementOf(c, birthMs);
    const status = clinical.code;
    // Without a clinicalStatus, an abatement says it ended (R4 con-4); one dated after now has not ended yet.
    const notEnded =
      !abatement.abated || (abatement.ms !== undefined && opts.asOfMs !== undefined && abatement.ms > opts.asOfMs);
    facts.push({
      reference,
      text: textsOf(c.code)[0] ?? matches[0]?.concept.display ?? 'condition',
      matches,
      active: status ? ACTIVE.has(status) : notEnded,
      ...(status ? { clinicalStatus: status } : {}),
      confirmed: verification.code === undefined || verification.code === 'confirmed',
      ...(verification.code ? { verificationStatus: verification.code } : {}),
      ...(onsetMs !== undefined ? { onsetMs } : {}),
      ...(abatement.ms !== undefined ? { abatementMs: abatement.ms } : {}),
      ...(abatement.abated ? { abated: true } : {}),
    });
  }
  return { facts, unreadable };
}

/** The facts alone (callers that do not collect unreadable resources). */
export function conditionFacts(
  conditions: Condition[],
  patientRef: string,
  k: Knowledge,
  opts: ConditionOptions = {},
): ConditionFact[] {
  return readConditions(conditions, patientRef, k, opts).facts;
}
