/*
 * Resource ids as EHRs send them. FHIR R4 limits an id to 64 characters of [A-Za-z0-9-.], but Epic's own CDS Hooks
 * and FHIR examples use ids of 100–200 characters (base64-like, still of those characters). A service that holds
 * to 64 refuses Epic's orders and cannot read its Medications. Crosstalk accepts up to 256: room above the longest
 * ids seen, and still a bound on what one id adds to a URL, a log line or a card.
 *
 * The character set stays FHIR's: no `/`, `?`, `#`, `%`, whitespace or anything else that would change the meaning of a
 * URL built from an id (`Medication/{id}`, `Patient/{id}`), so a long id is never an injection. Pure: the server,
 * the browser app and the JSON schemas (fhir-inputs.schema.json#/definitions/id, checked equal in ids.test.ts) agree.
 */
export const FHIR_ID_MAX_LENGTH = 256;
export const FHIR_ID_SOURCE = `[A-Za-z0-9\\-.]{1,${FHIR_ID_MAX_LENGTH}}`;
export const FHIR_ID = new RegExp(`^${FHIR_ID_SOURCE}$`);

export function isFhirId(s: unknown): s is string {
  return typeof s === 'string' && FHIR_ID.test(s);
}
