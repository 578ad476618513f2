import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import type { ContextDomain, Unreadable } from '../clinical';
import { compileSchema, formatErrors, SCHEMA_DIR } from '../config/schemas';
import { isFhirId } from '../fhir/ids';
import type { ServiceReads } from './reads';

/*
 * Prefetch, FHIR responses and draftOrders are untrusted JSON, judged one resource at a time. The engine reads FHIR
 * datatypes (a CodeableConcept's coding is an array, a dose value is a number); fhir-inputs.schema.json types exactly
 * the elements the rules read, so a sender's mistake in an element nobody reads (the CDS Hooks Sandbox writes
 * MedicationRequest.category as one object) costs nothing, and a resource that breaks an element the rules do read
 * is set aside as an Unreadable of its domains: "could not be checked", never absent and never a 400 for the call.
 */
const SCHEMA_FILE = 'fhir-inputs.schema.json';
const validate = compileSchema<Resource>(SCHEMA_FILE);

type Schema = { [k: string]: unknown };
const root = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, SCHEMA_FILE), 'utf8')) as Schema;
const definitions = (root.definitions ?? {}) as Record<string, Schema>;

function deref(s: Schema): Schema {
  const ref = s.$ref;
  if (typeof ref !== 'string') return s;
  const name = /^#\/definitions\/(.+)$/.exec(ref)?.[1];
  const target = name ? definitions[name] : undefined;
  if (!target) throw new Error(`${SCHEMA_FILE}: cannot resolve ${ref}`);
  return deref(target);
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The schema's `if` as it is written there: a `const` per property (the resourceType of an allOf branch). */
function matchesIf(cond: Schema, v: unknown): boolean {
  if (!isObject(v)) return false;
  const props = (cond.properties ?? {}) as Record<string, Schema>;
  return Object.entries(props).every(([k, p]) => !('const' in p) || v[k] === p.const);
}

/**
 * Wraps, where the schema marks an array `wrapSingle`, a lone value into a one-element array. Accepted for the arrays
 * whose one element carries its full meaning on its own (a Coding, a Dosage, a doseAndRate, an ingredient, a
 * contained resource, a timing `when`): `{coding: {…}}` can only mean `{coding: [{…}]}`, and refusing it would lose
 * a readable medicine. Everything else that breaks a type (a dose value "7.5" as a string, a coding that is a
 * string) is not guessed at: the resource is set aside. Copies on write; the input is never changed.
 */
function normalise(s0: Schema, v: unknown, at: string, wrapped: string[]): unknown {
  const s = deref(s0);
  let out = v;
  for (const sub of (s.allOf ?? []) as Schema[]) {
    if (sub.if && sub.then) {
      if (matchesIf(sub.if as Schema, out)) out = normalise(sub.then as Schema, out, at, wrapped);
    } else out = normalise(sub, out, at, wrapped);
  }
  if (isObject(out) && s.properties) {
    let obj: Record<string, unknown> = out;
    for (const [k, p0] of Object.entries(s.properties as Record<string, Schema>)) {
      if (!(k in obj)) continue;
      const p = deref(p0);
      let val = obj[k];
      if (p.wrapSingle === true && val !== null && val !== undefined && !Array.isArray(val)) {
        val = [val];
        wrapped.push(`${at}.${k}`);
      }
      val = normalise(p, val, `${at}.${k}`, wrapped);
      if (val !== obj[k]) obj = { ...obj, [k]: val };
    }
    out = obj;
  }
  if (Array.isArray(out) && s.items && typeof s.items === 'object') {
    const items = s.items as Schema;
    const next = out.map((x, i) => normalise(items, x, `${at}[${i}]`, wrapped));
    if (next.some((x, i) => x !== (out as unknown[])[i])) out = next;
  }
  return out;
}

export type Judged =
  | { ok: true; resource: Resource /** Paths of the lone values wrapped into arrays. */; wrapped: string[] }
  | { ok: false; why: string };

/** One resource: normalised where the schema allows it, then checked against the elements the rules read. */
export function judge(r: unknown): Judged {
  const wrapped: string[] = [];
  const type = isObject(r) && typeof r.resourceType === 'string' ? r.resourceType : 'resource';
  const n = normalise(root, r, type, wrapped);
  if (validate(n)) return { ok: true, resource: n, wrapped };
  return { ok: false, why: formatErrors(validate.errors, 3) };
}

/** `Type/id` when the resource names itself safely, else where it was found (an id could be anything). */
export function referenceOf(r: unknown, where: string): string {
  if (!isObject(r)) return where;
  const { resourceType: t, id } = r;
  return typeof t === 'string' && /^[A-Z][A-Za-z]{1,63}$/.test(t) && isFhirId(id) ? `${t}/${id}` : where;
}

/**
 * The domains a resource of this type feeds: those of every key whose template reads it. A Medication feeds what the
 * orders and statements that point at it feed (it comes with them by `_include` or by reference).
 */
export function domainsOfType(reads: ServiceReads, resourceType: string): ContextDomain[] {
  const carriers = resourceType === 'Medication' ? ['MedicationRequest', 'MedicationStatement'] : [resourceType];
  const out = new Set<ContextDomain>();
  for (const [key, domains] of Object.entries(reads.contextDomains)) {
    const t = (reads.templates[key] ?? '').split(/[/?]/)[0] ?? '';
    if (carriers.includes(t)) for (const d of domains) out.add(d);
  }
  return [...out];
}

/**
 * The domains of a key: the service's contextDomains; for a key that is not a template of the service (Medications
 * read by reference), the domains of what the resource is.
 */
export function domainsOfKey(reads: ServiceReads, key: string, r: unknown): ContextDomain[] {
  if (key in reads.templates) return reads.contextDomains[key] ?? [];
  const t = isObject(r) && typeof r.resourceType === 'string' ? r.resourceType : '';
  return domainsOfType(reads, t);
}

/** A resource set aside: one Unreadable per domain it would have fed. */
export function setAside(r: unknown, where: string, domains: ContextDomain[], why: string): Unreadable[] {
  const reference = referenceOf(r, where);
  return domains.map((domain) => ({ domain, reference, reason: `failed validation: ${why}` }));
}
