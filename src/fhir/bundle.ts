/*
 * What every way of reading FHIR shares, with no I/O and no Node built-ins (the server, the SMART app in the
 * browser and the CLI all use it): how a read fails, as a typed value, and how untrusted Bundles are read.
 */
import type { Bundle, Resource } from 'fhir/r4';

export type FhirFailure =
  /**
   * `named`: the search parameters the server's OperationOutcome points at (issue expression, location or text),
   * read from a small error body only; `unsupported`: an issue of code not-supported. Neither is ever logged.
   */
  | { kind: 'http'; status: number; named?: string[]; unsupported?: boolean }
  | { kind: 'timeout' }
  /** The call ended before the read did: the EHR went away or the request's time budget ran out. */
  | { kind: 'aborted' }
  | { kind: 'network' }
  | { kind: 'refused'; why: string }
  | { kind: 'invalid-response' }
  | { kind: 'too-large'; cap: 'response' | 'call'; limitBytes: number }
  /** JSON nested deeper than the limit: cut off before it was parsed. */
  | { kind: 'too-deep'; maxDepth: number }
  /** A search the server could not filter or sort had more pages than the page limit: the newest may be unread. */
  | { kind: 'page-limit'; maxPages: number };

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
  if (!isUnderBase(url, base)) throw new FhirError({ kind: 'refused', why: 'URL outside the fhirServer base' });
}

/**
 * Whether `url` is the base or below it, path segment by segment: `/fhir/Observation` is under `/fhir`,
 * `/fhir-admin/Observation` is not (a string prefix would say it is). The URL parser has already resolved
 * `..` and percent-encoded dots, so `/fhir/../admin` arrives as `/admin`.
 */
export function isUnderBase(url: URL, base: string): boolean {
  const b = baseUrl(base);
  return (
    url.origin === b.origin && (url.pathname === b.pathname.replace(/\/$/, '') || url.pathname.startsWith(b.pathname))
  );
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

/**
 * What an error OperationOutcome says about the search that caused it: the parameters it points at (among
 * `params`) and whether any issue is not-supported. Untrusted JSON, read without trusting its shape.
 */
export function rejectionOf(body: unknown, params: readonly string[]): { named: string[]; unsupported: boolean } {
  const issues = (body as { resourceType?: unknown; issue?: unknown } | null)?.issue;
  if (!isResource(body) || body.resourceType !== 'OperationOutcome' || !Array.isArray(issues))
    return { named: [], unsupported: false };
  const named = new Set<string>();
  let unsupported = false;
  for (const i of issues) {
    if (!i || typeof i !== 'object') continue;
    const issue = i as Record<string, unknown>;
    if (issue.code === 'not-supported') unsupported = true;
    const texts = [
      ...(Array.isArray(issue.expression) ? issue.expression : []),
      ...(Array.isArray(issue.location) ? issue.location : []),
      issue.diagnostics,
      (issue.details as { text?: unknown } | undefined)?.text,
    ].filter((x): x is string => typeof x === 'string');
    for (const p of params) {
      // A parameter is named when it stands as a word of its own: "_sort", "Observation._sort", "'code'".
      const word = new RegExp(`(^|[^A-Za-z0-9_-])${p.replace(/[$]/g, '\\$&')}($|[^A-Za-z0-9_-])`);
      if (texts.some((t) => word.test(t))) named.add(p);
    }
  }
  return { named: [...named], unsupported };
}
