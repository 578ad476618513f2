import { setMaxListeners } from 'node:events';
import type { OperationOutcomeIssue, Patient, Resource } from 'fhir/r4';
import { ByteBudget, FhirError, type FhirFailure, FhirSession } from '../fhir/client';
import type { EgressPolicy } from '../fhir/egress';
import { isWellFormed } from './inputs';
import { problems } from './outcomes';
import { type PrefetchState, type Template, classifyPrefetch, fillTemplate } from './prefetch';
import type { CdsService } from './services';
import type { CdsRequest } from './types';

export type DataSource = 'prefetch' | 'fhir' | 'prefetch+fhir' | 'unavailable';

/** Everything gathered for one call, keyed by prefetch key, with where each key came from. */
export interface Gathered {
  patient: Patient;
  resources: Record<string, Resource[]>;
  sources: Record<string, DataSource>;
  /** Keys that arrived paginated and could only be read in part. */
  partial: string[];
  /** Resources set aside because their JSON breaks the types Crosstalk reads. */
  malformed: number;
  /** Why each key that was read from fhirServer and failed could not be had (a failure kind, or http_<status>). */
  failures: Record<string, string>;
  fhirMs?: number;
  /** Bytes read from fhirServer (decompressed), all keys and pages. */
  fhirBytes?: number;
}

export interface GatherOptions {
  timeoutMs: number;
  maxPages: number;
  /** Byte caps: each FHIR answer, and all of this call's answers together. */
  maxResponseBytes: number;
  maxCallBytes: number;
  /** Aborted when the call is over before its reads are (the EHR went away, the request budget ran out). */
  signal?: AbortSignal;
  /** Where this call's client may send its token; decided by who authenticated. */
  egress: EgressPolicy;
  /** Told of every FHIR read (one per key): its outcome (ok, a failure kind, or http_<status>) and seconds. */
  observe?: (outcome: string, seconds: number) => void;
  /** Reads beyond the service's prefetch templates, by key (the encounter a location pilot needs); never required. */
  extraReads?: Record<string, string>;
}

function outcomeOf(e: unknown): string {
  if (!(e instanceof FhirError)) return 'network';
  return e.failure.kind === 'http' ? `http_${e.failure.status}` : e.failure.kind;
}

function failureIssue(key: string, f: FhirFailure | 'no-fhir'): OperationOutcomeIssue {
  const texts: Record<string, [OperationOutcomeIssue['code'], string]> = {
    'no-fhir': ['incomplete', `prefetch "${key}" was not provided and the request has no fhirServer to read it from`],
    timeout: ['timeout', `reading "${key}" from fhirServer timed out`],
    network: ['transient', `fhirServer could not be reached to read "${key}"`],
    refused: ['security', `fhirServer URL for "${key}" is not allowed`],
    'invalid-response': ['invalid', `fhirServer sent something other than FHIR JSON for "${key}"`],
    aborted: ['timeout', `reading "${key}" from fhirServer was abandoned: the call ended first`],
  };
  if (typeof f === 'object' && f.kind === 'too-large') {
    const mb = Math.round((f.limitBytes / 1048576) * 10) / 10;
    const what = f.cap === 'response' ? `an answer larger than the ${mb} MB cap per answer` : `more than the ${mb} MB cap for all reads of one call`;
    return { severity: 'error', code: 'too-costly', details: { text: `fhirServer sent ${what} when reading "${key}"; the read was cut off` } };
  }
  const kind = typeof f === 'string' ? f : f.kind;
  if (typeof f === 'object' && f.kind === 'http') {
    const code = f.status === 401 || f.status === 403 ? 'security' : 'transient';
    return { severity: 'error', code, details: { text: `fhirServer answered HTTP ${f.status} when reading "${key}"` } };
  }
  const [code, text] = texts[kind] ?? ['processing', `could not obtain "${key}": ${kind}`];
  return { severity: 'error', code, details: { text } };
}

/**
 * Prefetch first; what prefetch lacks (absent, OperationOutcome, malformed, or the next pages of a
 * paginated Bundle) is read from fhirServer in parallel under one time budget. Required data that
 * cannot be had ends the call with 412, as the spec says.
 */
export async function gather(service: CdsService, req: CdsRequest, opts: GatherOptions): Promise<Gathered> {
  const def = service.definition;
  const templates: Template[] = Object.entries({ ...opts.extraReads, ...def.discovery.prefetch }).map(([key, t]) => fillTemplate(key, t, req.context));
  const states = new Map<string, PrefetchState>(templates.map((t) => [t.key, classifyPrefetch(t, req.prefetch)]));

  const resources: Record<string, Resource[]> = {};
  const sources: Record<string, DataSource> = {};
  const partial: string[] = [];
  const failures: Record<string, string> = {};
  const toFetch: { t: Template; continueFrom?: PrefetchState & { state: 'bundle' } }[] = [];

  for (const t of templates) {
    const s = states.get(t.key) as PrefetchState;
    switch (s.state) {
      case 'bundle':
        resources[t.key] = s.resources;
        sources[t.key] = 'prefetch';
        if (s.paginated) toFetch.push({ t, continueFrom: s });
        break;
      case 'resource':
        resources[t.key] = [s.resource];
        sources[t.key] = 'prefetch';
        break;
      case 'null':
        // null says "no data" for a search; for a read of the patient in context it cannot be right.
        if (t.kind === 'search') {
          resources[t.key] = [];
          sources[t.key] = 'prefetch';
        } else toFetch.push({ t });
        break;
      default:
        toFetch.push({ t });
    }
  }

  const issues: OperationOutcomeIssue[] = [];
  let fhirMs: number | undefined;
  let fhirBytes: number | undefined;
  if (toFetch.length) {
    if (!req.fhirServer) {
      for (const { t, continueFrom } of toFetch) {
        if (continueFrom) partial.push(t.key);
        else sources[t.key] = 'unavailable';
        if (!continueFrom && def.required.includes(t.key)) issues.push(failureIssue(t.key, 'no-fhir'));
      }
    } else {
      const started = performance.now();
      // The FHIR time budget, cut short if the call itself ends first: nothing is read for a caller that has gone.
      const signal = opts.signal ? AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), opts.signal]) : AbortSignal.timeout(opts.timeoutMs);
      const bytes = new ByteBudget(opts.maxResponseBytes, opts.maxCallBytes);
      // Every key's request (and page) listens on this one budget; a service with 15 keys passes Node's default of 10.
      setMaxListeners(Math.max(10, toFetch.length * opts.maxPages), signal);
      const session = new FhirSession(
        { baseUrl: req.fhirServer, ...(req.fhirAuthorization ? { accessToken: req.fhirAuthorization.access_token } : {}) },
        { signal, maxPages: opts.maxPages, egress: opts.egress, bytes },
      );
      const results = await Promise.allSettled(
        toFetch.map(async ({ t, continueFrom }) => {
          const t0 = performance.now();
          try {
            let out: Resource[];
            if (continueFrom) out = await session.continue(continueFrom.bundle);
            else if (t.kind === 'read') {
              const r = await session.read(t.url);
              out = r ? [r] : [];
            } else out = await session.search(t.url);
            opts.observe?.('ok', (performance.now() - t0) / 1000);
            return out;
          } catch (e) {
            opts.observe?.(outcomeOf(e), (performance.now() - t0) / 1000);
            throw e;
          }
        }),
      );
      fhirMs = performance.now() - started;
      fhirBytes = bytes.bytesRead;
      results.forEach((r, i) => {
        const { t, continueFrom } = toFetch[i] as (typeof toFetch)[number];
        if (r.status === 'rejected') failures[t.key] = outcomeOf(r.reason);
        if (r.status === 'fulfilled') {
          resources[t.key] = r.value;
          sources[t.key] = continueFrom ? 'prefetch+fhir' : 'fhir';
          return;
        }
        if (continueFrom) {
          // The first page is newest-first data the EHR already gave us: use it, and say it is partial.
          partial.push(t.key);
          return;
        }
        sources[t.key] = 'unavailable';
        const failure = r.reason instanceof FhirError ? r.reason.failure : ({ kind: 'network' } as const);
        if (def.required.includes(t.key)) issues.push(failureIssue(t.key, failure));
      });
    }
  }

  // Untrusted JSON: whatever breaks the types the engine reads is set aside here, at the boundary.
  let malformed = 0;
  for (const key of Object.keys(resources)) {
    const list = resources[key] as Resource[];
    const ok = list.filter(isWellFormed);
    malformed += list.length - ok.length;
    resources[key] = ok;
  }

  const patient = resources[def.patientKey]?.[0];
  if (!issues.length && (!patient || patient.resourceType !== 'Patient')) {
    issues.push({ severity: 'error', code: 'not-found', details: { text: 'the Patient in context could not be read' } });
  }
  if (issues.length) throw problems.preconditionFailed(issues);
  return {
    patient: patient as Patient,
    resources,
    sources,
    partial,
    malformed,
    failures,
    ...(fhirMs !== undefined ? { fhirMs } : {}),
    ...(fhirBytes !== undefined ? { fhirBytes } : {}),
  };
}
