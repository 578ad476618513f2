import { setMaxListeners } from 'node:events';
import type { OperationOutcomeIssue, Patient, Resource } from 'fhir/r4';
import type { ContextDomain, Unreadable } from '../clinical';
import { type FhirFailure, outcomeOf } from '../fhir/bundle';
import { ByteBudget, nodeTransport } from '../fhir/client';
import type { EgressPolicy } from '../fhir/egress';
import { domainsOfKey, judge, setAside } from './inputs';
import { problems } from './outcomes';
import { readsOf } from './reads';
import { type DataSource, readRecord, readReferencedMedications, type Transport } from './record-reader';
import type { CdsService } from './services';
import type { CdsRequest } from './types';

export type { DataSource } from './record-reader';

/** Everything gathered for one call, keyed by prefetch key, with where each key came from. */
export interface Gathered {
  patient: Patient;
  resources: Record<string, Resource[]>;
  sources: Record<string, DataSource>;
  /** Keys that arrived paginated and could only be read in part. */
  partial: string[];
  /** Resources set aside because their JSON breaks the types Crosstalk reads. */
  malformed: number;
  /** What those resources would have fed: their domains could not be checked (one entry per resource and domain). */
  unreadable?: Unreadable[];
  /** Why each key that was read from fhirServer and failed could not be had (a failure kind, or http_<status>). */
  failures: Record<string, string>;
  /** Kinds of context that could not be read (every key carrying them unavailable). */
  unavailable: ContextDomain[];
  fhirMs?: number;
  /** Bytes read from fhirServer (decompressed), all keys and pages. */
  fhirBytes?: number;
  /** Keys read in a simpler form than their template (the search ladder's steps), or `missing-endpoint`. */
  fallbacks?: Record<string, string>;
}

export interface GatherOptions {
  timeoutMs: number;
  maxPages: number;
  /** Byte caps: each FHIR answer, and all of this call's answers together. */
  maxResponseBytes: number;
  maxCallBytes: number;
  /** Deepest JSON nesting read from fhirServer; a deeper answer is cut off unparsed and its key is unavailable. */
  maxJsonDepth: number;
  /** Aborted when the call is over before its reads are (the EHR went away, the request budget ran out). */
  signal?: AbortSignal;
  /** Where this call's client may send its token; decided by who authenticated. */
  egress: EgressPolicy;
  /** Told of every FHIR read (one per key): its outcome (ok, a failure kind, or http_<status>) and seconds. */
  observe?: (outcome: string, seconds: number) => void;
  /** Reads beyond the service's prefetch templates, by key (the encounter a location pilot needs); never required. */
  extraReads?: Record<string, string>;
  /** Told of every key read in a simpler form than its template: the ladder's steps, or `missing-endpoint`. */
  onFallback?: (fallback: string) => void;
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
  if (typeof f === 'object' && f.kind === 'page-limit') {
    return {
      severity: 'error',
      code: 'too-costly',
      details: {
        text: `fhirServer could not filter or sort the search for "${key}" and its answer ran past ${f.maxPages} pages; the newest results may be unread`,
      },
    };
  }
  if (typeof f === 'object' && f.kind === 'too-large') {
    const mb = Math.round((f.limitBytes / 1048576) * 10) / 10;
    const what =
      f.cap === 'response'
        ? `an answer larger than the ${mb} MB cap per answer`
        : `more than the ${mb} MB cap for all reads of one call`;
    return {
      severity: 'error',
      code: 'too-costly',
      details: { text: `fhirServer sent ${what} when reading "${key}"; the read was cut off` },
    };
  }
  if (typeof f === 'object' && f.kind === 'too-deep') {
    return {
      severity: 'error',
      code: 'too-costly',
      details: {
        text: `fhirServer sent JSON nested deeper than ${f.maxDepth} levels when reading "${key}"; it was not read`,
      },
    };
  }
  const kind = typeof f === 'string' ? f : f.kind;
  if (typeof f === 'object' && f.kind === 'http') {
    // 404/405/501 to a search: the server has no such endpoint (the search ladder checked its plainest form).
    const code =
      f.status === 401 || f.status === 403
        ? 'security'
        : [404, 405, 501].includes(f.status)
          ? 'not-supported'
          : 'transient';
    return { severity: 'error', code, details: { text: `fhirServer answered HTTP ${f.status} when reading "${key}"` } };
  }
  const [code, text] = texts[kind] ?? ['processing', `could not obtain "${key}": ${kind}`];
  return { severity: 'error', code, details: { text } };
}

/**
 * Prefetch first; what prefetch lacks is read from fhirServer through the one record reader, in parallel under
 * one time budget and one byte budget. Required data that cannot be had ends the call with 412, as the spec says.
 */
export async function gather(service: CdsService, req: CdsRequest, opts: GatherOptions): Promise<Gathered> {
  const def = service.definition;
  const own = readsOf(def);
  const reads = { ...own, templates: { ...opts.extraReads, ...own.templates } };
  let transport: Transport | undefined;
  let bytes: ByteBudget | undefined;
  const fhirServer = req.fhirServer;
  if (fhirServer) {
    // Opened on the first read only: a call whose prefetch is complete sets up no timer, budget or agent.
    let node: Transport | undefined;
    const open = (): Transport => {
      // The FHIR time budget, cut short if the call itself ends first: nothing is read for a caller that has gone.
      const signal = opts.signal
        ? AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), opts.signal])
        : AbortSignal.timeout(opts.timeoutMs);
      bytes = new ByteBudget(opts.maxResponseBytes, opts.maxCallBytes);
      // Every key's request (and page) listens on this one budget; a service with 15 keys passes Node's default of 10.
      setMaxListeners(Math.max(10, Object.keys(reads.templates).length * opts.maxPages), signal);
      const token = req.fhirAuthorization ? { accessToken: req.fhirAuthorization.access_token } : {};
      return nodeTransport(
        { baseUrl: fhirServer, ...token },
        {
          signal,
          egress: opts.egress,
          bytes,
          maxJsonDepth: opts.maxJsonDepth,
        },
      );
    };
    transport = { base: fhirServer, get: (url) => (node ??= open()).get(url) };
  }
  const record = await readRecord(reads, req.context, transport, {
    maxPages: opts.maxPages,
    ...(req.prefetch ? { prefetch: req.prefetch } : {}),
    ...(opts.observe ? { observe: opts.observe } : {}),
  });
  // Orders that point at a Medication/123 the prefetch and _include did not bring: read here, so the engine
  // receives resolved Medications.
  const read = await readReferencedMedications(
    record,
    req.context,
    transport,
    opts.observe ? { observe: opts.observe } : {},
  );

  for (const f of Object.values(read.fallbacks ?? {})) opts.onFallback?.(f);

  const issues: OperationOutcomeIssue[] = [];
  for (const key of Object.keys(reads.templates)) {
    if (read.sources[key] !== 'unavailable' || !def.required.includes(key)) continue;
    issues.push(failureIssue(key, transport ? (read.failures[key] ?? { kind: 'network' }) : 'no-fhir'));
  }

  // Untrusted JSON, judged one resource at a time: whatever breaks the types the engine reads is set aside here, at
  // the boundary, and its key's domains are marked could-not-be-checked (never read as no data).
  const resources: Record<string, Resource[]> = {};
  // Lists read only in part (page limit, a next link outside the base, a later page lost) come first: their
  // domains could not be checked, whatever the pages read say.
  const unreadable: Unreadable[] = [...read.unreadable];
  let malformed = 0;
  for (const [key, list] of Object.entries(read.resources)) {
    const kept: Resource[] = [];
    for (const r of list) {
      const j = judge(r);
      if (j.ok) kept.push(j.resource);
      else {
        malformed += 1;
        unreadable.push(...setAside(r, `prefetch key "${key}"`, domainsOfKey(reads, key, r), j.why));
      }
    }
    resources[key] = kept;
  }

  const patient = resources[def.patientKey]?.[0];
  if (!issues.length && (!patient || patient.resourceType !== 'Patient')) {
    issues.push({
      severity: 'error',
      code: 'not-found',
      details: { text: 'the Patient in context could not be read' },
    });
  }
  if (issues.length) throw problems.preconditionFailed(issues);
  return {
    patient: patient as Patient,
    resources,
    sources: read.sources,
    partial: read.partial,
    malformed,
    unreadable,
    failures: Object.fromEntries(Object.entries(read.failures).map(([key, f]) => [key, outcomeOf(f)])),
    unavailable: read.unavailable,
    ...(read.fhirMs !== undefined ? { fhirMs: read.fhirMs, fhirBytes: bytes?.bytesRead ?? 0 } : {}),
    ...(read.fallbacks && Object.keys(read.fallbacks).length ? { fallbacks: read.fallbacks } : {}),
  };
}
