/*
 * What every way of reading FHIR shares, with no I/O and no Node built-ins (the server, the SMART app in the
 * browser and the CLI all use it): how a read fails, as a typed value, and how untrusted Bundles are read.
 */
import type { Bundle, Resource } from 'fhir/r4';

export type FhirFailure =
  | { kind: 'http'; status: number }
  | { kind: 'timeout' }
  /** The call ended before the read did: the EHR went away or the request's time budget ran out. */
  | { kind: 'aborted' }
  | { kind: 'network' }
  | { kind: 'refused'; why: string }
  | { kind: 'invalid-response' }
  | { kind: 'too-large'; cap: 'response' | 'call'; limitBytes: number };

/** Carries only a classification: upstream bodies and URLs stay out of messages, so they stay out of logs. */
export class FhirError extends Error {
  constructor(readonly failure: FhirFailure) {
    super(`FHIR request failed: ${failure.kind}${failure.kind === 'http' ? ` ${failure.status}` : ''}`);
    this.name = 'FhirError';
  }
}

/** The failure a rejection carries; anything a transport did not classify counts as the server out of reach. */
export function failureOf(e: unknown): FhirFailure {
  return e instanceof FhirError ? e.failure : { kind: 'network' };
}

/** How a failure is counted and logged: its kind, or http_<status>. */
export function outcomeOf(f: FhirFailure): string {
  return f.kind === 'http' ? `http_${f.status}` : f.kind;
}

/** `base` with the trailing slash that relative URLs resolve under. */
export function baseUrl(base: string): URL {
  return new URL(base.endsWith('/') ? base : `${base}/`);
}

/** Paging links and every other URL must stay under the fhirServer the EHR named: the token goes nowhere else. */
export function assertUnderBase(url: URL, base: string): void {
  const b = baseUrl(base);
  if (url.origin !== b.origin || !url.pathname.startsWith(b.pathname.replace(/\/$/, ''))) {
    throw new FhirError({ kind: 'refused', why: 'URL outside the fhirServer base' });
  }
}

export function isResource(x: unknown): x is Resource {
  return !!x && typeof x === 'object' && typeof (x as Resource).resourceType === 'string';
}

// Bundles arrive as untrusted JSON (prefetch, FHIR servers): read them without trusting their shape.
export function nextLink(b: Bundle): string | undefined {
  if (!Array.isArray(b.link)) return undefined;
  const url = b.link.find((l) => l && typeof l === 'object' && l.relation === 'next')?.url;
  return typeof url === 'string' ? url : undefined;
}

export function bundleResources(b: Bundle): Resource[] {
  if (!Array.isArray(b.entry)) return [];
  return b.entry.flatMap((e) =>
    e && typeof e === 'object' && e.resource && typeof e.resource === 'object' ? [e.resource] : [],
  );
}
