import type { Resource } from 'fhir/r4';
import { compileSchema, formatErrors } from '../config/schemas';

/*
 * Prefetch, FHIR responses and draftOrders are untrusted JSON. The engine reads FHIR datatypes
 * (a CodeableConcept's coding is an array, a dose value is a number); these checks, done once at
 * the boundary, let it rely on them.
 */
const validate = compileSchema<Resource>('fhir-inputs.schema.json');

export function isWellFormed(r: unknown): r is Resource {
  return validate(r);
}

export function whyMalformed(r: unknown): string | undefined {
  return validate(r) ? undefined : formatErrors(validate.errors, 3);
}
