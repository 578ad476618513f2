import type { Bundle, OperationOutcome, Resource } from 'fhir/r4';
import { bundleResources, nextLink } from '../fhir/bundle';
import { fillTokens } from './reads';

/**
 * The five shapes a prefetch key can arrive in (CDS Hooks 2.0, 'Prefetch'): absent, null, a Bundle
 * (maybe empty, maybe paginated), a resource, or an OperationOutcome. The service must tell them apart.
 */
export type PrefetchState =
  | { state: 'absent' }
  | { state: 'null' }
  | { state: 'bundle'; resources: Resource[]; bundle: Bundle; paginated: boolean }
  | { state: 'resource'; resource: Resource }
  | { state: 'error'; why: string }
  | { state: 'invalid'; why: string };

export interface Template {
  key: string;
  /** The template with context tokens filled in, as a relative FHIR URL. */
  url: string;
  kind: 'read' | 'search';
  resourceType: string;
}

/** Fills `{{context.x}}` tokens with URL-encoded context values (already schema-checked ids). */
export function fillTemplate(key: string, template: string, context: Record<string, unknown>): Template {
  const url = fillTokens(key, template, context);
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return { key, url, kind: q < 0 ? 'read' : 'search', resourceType: path.split('/')[0] ?? '' };
}

function isErrorOutcome(r: Resource): boolean {
  const issues = (r as OperationOutcome).issue;
  return (
    r.resourceType === 'OperationOutcome' &&
    Array.isArray(issues) &&
    issues.some((i) => i?.severity === 'error' || i?.severity === 'fatal')
  );
}

const MEDICATION_SEARCHES = new Set([
  'MedicationRequest',
  'MedicationStatement',
  'MedicationAdministration',
  'MedicationDispense',
]);

/** A medication search may carry the Medications its resources point at (`_include=MedicationRequest:medication`). */
function includedWith(searched: string, r: Resource): boolean {
  return r.resourceType === 'Medication' && MEDICATION_SEARCHES.has(searched);
}

export function classifyPrefetch(t: Template, prefetch: Record<string, unknown> | undefined): PrefetchState {
  if (!prefetch || !Object.hasOwn(prefetch, t.key)) return { state: 'absent' };
  const v = prefetch[t.key];
  if (v === null) return { state: 'null' };
  if (!v || typeof v !== 'object' || typeof (v as Resource).resourceType !== 'string')
    return { state: 'invalid', why: 'not a FHIR resource' };
  const r = v as Resource;
  if (r.resourceType === 'OperationOutcome') return { state: 'error', why: 'the EHR sent an OperationOutcome' };

  if (t.kind === 'read') {
    if (r.resourceType !== t.resourceType)
      return { state: 'invalid', why: `expected ${t.resourceType}, got ${r.resourceType}` };
    if (`${r.resourceType}/${encodeURIComponent(r.id ?? '')}` !== t.url)
      return { state: 'invalid', why: 'resource id differs from the template' };
    return { state: 'resource', resource: r };
  }
  if (r.resourceType !== 'Bundle')
    return { state: 'invalid', why: `expected a searchset Bundle, got ${r.resourceType}` };
  const bundle = r as Bundle;
  const all = bundleResources(bundle);
  if (all.some(isErrorOutcome)) return { state: 'error', why: 'the Bundle carries an error OperationOutcome' };
  // Informational OperationOutcomes (search mode "outcome") are not data.
  const resources = all.filter((x) => x.resourceType !== 'OperationOutcome');
  if (resources.some((x) => x.resourceType !== t.resourceType && !includedWith(t.resourceType, x)))
    return { state: 'invalid', why: `Bundle holds resources other than ${t.resourceType}` };
  return { state: 'bundle', resources, bundle, paginated: !!nextLink(bundle) };
}
