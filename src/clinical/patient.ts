import type { Patient } from 'fhir/r4';
import { parseFhirInstant } from './dates';
import { day } from './format';
import type { Knowledge } from './knowledge';
import { sharedReason } from './text';
import type { Reason } from './types';

/** FHIR's dateTime: a year, year-month, date, or date-time with seconds and a zone (partial dates allowed). */
const FHIR_DATE_TIME = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * Whether the Patient resource itself says no advice belongs on this record, as FHIR R4 defines Patient:
 * - `deceasedBoolean: true`, or any `deceasedDateTime`: the patient has died. The element exists only to say so, so
 *   neither a date that cannot be read nor one after the evaluation time makes the patient alive: a live call cannot tell a death
 *   date in its future from a mistyped one, and a card to someone who died is the worse error (a back-dated run
 *   loses the few such patients instead).
 * - a `link` of type `replaced-by`: this record was merged into another ("the patient resource containing this link
 *   must no longer be used"); the facts now live on the other record, so this one's are incomplete.
 * `active: false` alone is not a reason: R4 says it marks a record no longer in use, and is not about the person
 * (an inactive record is not a deceased patient, and a merge is told by the link, not by `active`).
 * Returns the quiet reason every rule then gives, or undefined when the record is open to advice.
 */
export function recordClosed(p: Patient, k: Knowledge): Reason | undefined {
  if (p.deceasedBoolean === true) return sharedReason(k, 'patient-deceased');
  if (p.deceasedDateTime !== undefined) {
    const ms = FHIR_DATE_TIME.test(p.deceasedDateTime) ? parseFhirInstant(p.deceasedDateTime) : undefined;
    if (ms === undefined) return sharedReason(k, 'patient-deceased');
    return sharedReason(k, 'patient-deceased-on', { date: day(p.deceasedDateTime) });
  }
  if ((p.link ?? []).some((l) => l.type === 'replaced-by')) return sharedReason(k, 'patient-replaced');
  return undefined;
}
