/*
 * The one record reader: how the server (a CDS call), the SMART app (in the browser) and the CLI (a Bundle on
 * disk) read a patient's record. Templates → requests → pages → resources → unavailable domains, here once, with
 * no I/O of its own and no Node built-ins; the bytes come through a thin transport per environment, as SMART
 * client-js has one core with environment adapters: Node (src/fhir/client.ts: egress guard, byte caps, abort),
 * the browser (src/fhir/fhirclient-transport.ts: fhirclient's request with the launch's token), a Bundle
 * (src/cli/bundle-transport.ts). Failures are typed values (FhirFailure), never read from error messages.
 */
import type { Bundle, Patient, Resource } from 'fhir/r4';
import type { ContextDomain } from '../clinical';
import {
  assertUnderBase,
  baseUrl,
  bundleResources,
  FhirError,
  type FhirFailure,
  failureOf,
  isResource,
  nextLink,
  outcomeOf,
} from '../fhir/bundle';
import { isFhirId } from '../fhir/ids';
import { classifyPrefetch, fillTemplate, type PrefetchState, type Template } from './prefetch';
import { type ServiceReads, unavailableDomains } from './reads';

/** One environment's way to GET FHIR: an absolute URL under `base` in, parsed JSON out; failures reject with FhirError. */
export interface Transport {
  /** The FHIR base URL; every URL the reader asks for, paging links included, stays under it. */
  base: string;
  get(url: URL): Promise<unknown>;
}

export type DataSource = 'prefetch' | 'fhir' | 'prefetch+fhir' | 'unavailable';

export interface RecordRead {
  /** The Patient the patient key read, when it read one. */
  patient?: Patient;
  /** What each key read. Searches drop OperationOutcomes (search mode "outcome" is not data). */
  resources: Record<string, Resource[]>;
  sources: Record<string, DataSource>;
  /** Keys whose first page came as prefetch and whose later pages could not be read: newest-first data, in part. */
  partial: string[];
  /** Why each key read from the FHIR server failed. */
  failures: Record<string, FhirFailure>;
  /** Kinds of context none of whose keys could be had: the rules that need them say so. */
  unavailable: ContextDomain[];
  /** Milliseconds spent reading from the FHIR server, when anything was read from it. */
  fhirMs?: number;
}

export interface ReadOptions {
  /** Pages per search, the first included (a paginated prefetch Bundle counts as the first). */
  maxPages: number;
  /** CDS Hooks prefetch, used where it is usable (see classifyPrefetch); what it lacks is read through the transport. */
  prefetch?: Record<string, unknown>;
  /** Told of every key read through the transport: its outcome (ok, a failure kind, or http_<status>) and seconds. */
  observe?: (outcome: string, seconds: number) => void;
}

const notOutcome = (r: Resource) => r.resourceType !== 'OperationOutcome';

function get(t: Transport, url: URL): Promise<unknown> {
  assertUnderBase(url, t.base);
  return t.get(url);
}

/** A read; a 404 answers undefined. */
async function readOne(t: Transport, relative: string): Promise<Resource | undefined> {
  try {
    const r = await get(t, new URL(relative, baseUrl(t.base)));
    if (!isResource(r)) throw new FhirError({ kind: 'invalid-response' });
    return r;
  } catch (e) {
    if (e instanceof FhirError && e.failure.kind === 'http' && e.failure.status === 404) return undefined;
    throw e;
  }
}

function asBundle(r: unknown): Bundle {
  if (!isResource(r) || r.resourceType !== 'Bundle') throw new FhirError({ kind: 'invalid-response' });
  return r as Bundle;
}

/** The resources of a Bundle and of the pages after it, following `next` links up to maxPages pages in all. */
async function pages(t: Transport, first: Bundle, pagesSoFar: number, maxPages: number): Promise<Resource[]> {
  const out = bundleResources(first);
  let page = first;
  let n = pagesSoFar;
  for (let next = nextLink(page); next && n < maxPages; next = nextLink(page)) {
    page = asBundle(await get(t, new URL(next, baseUrl(t.base))));
    n += 1;
    out.push(...bundleResources(page));
  }
  return out.filter(notOutcome);
}

async function search(t: Transport, relative: string, maxPages: number): Promise<Resource[]> {
  return pages(t, asBundle(await get(t, new URL(relative, baseUrl(t.base)))), 1, maxPages);
}

/**
 * Reads what `reads` describes for the patient in `context`: prefetch first where it is usable; what it lacks
 * (absent, OperationOutcome, malformed, or the next pages of a paginated Bundle) through the transport, every key
 * at once. Without a transport those keys are unavailable. Never rejects for a key that fails: the failure is in
 * the answer, and the caller decides what it cannot do without.
 */
export async function readRecord(
  reads: ServiceReads,
  context: Record<string, unknown>,
  transport: Transport | undefined,
  opts: ReadOptions,
): Promise<RecordRead> {
  const templates: Template[] = Object.entries(reads.templates).map(([key, t]) => fillTemplate(key, t, context));
  const resources: Record<string, Resource[]> = {};
  const sources: Record<string, DataSource> = {};
  const partial: string[] = [];
  const failures: Record<string, FhirFailure> = {};
  const toRead: { t: Template; continueFrom?: Bundle }[] = [];

  for (const t of templates) {
    const s: PrefetchState = classifyPrefetch(t, opts.prefetch);
    switch (s.state) {
      case 'bundle':
        resources[t.key] = s.resources;
        sources[t.key] = 'prefetch';
        if (s.paginated) toRead.push({ t, continueFrom: s.bundle });
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
        } else toRead.push({ t });
        break;
      default:
        toRead.push({ t });
    }
  }

  let fhirMs: number | undefined;
  if (toRead.length && !transport) {
    for (const { t, continueFrom } of toRead) {
      if (continueFrom) partial.push(t.key);
      else sources[t.key] = 'unavailable';
    }
  } else if (toRead.length && transport) {
    const started = performance.now();
    const results = await Promise.allSettled(
      toRead.map(async ({ t, continueFrom }) => {
        const t0 = performance.now();
        try {
          let out: Resource[];
          if (continueFrom) out = await pages(transport, continueFrom, 1, opts.maxPages);
          else if (t.kind === 'read') {
            const r = await readOne(transport, t.url);
            out = r ? [r] : [];
          } else out = await search(transport, t.url, opts.maxPages);
          opts.observe?.('ok', (performance.now() - t0) / 1000);
          return out;
        } catch (e) {
          opts.observe?.(outcomeOf(failureOf(e)), (performance.now() - t0) / 1000);
          throw e;
        }
      }),
    );
    fhirMs = performance.now() - started;
    results.forEach((r, i) => {
      const { t, continueFrom } = toRead[i] as (typeof toRead)[number];
      if (r.status === 'fulfilled') {
        resources[t.key] = r.value;
        sources[t.key] = continueFrom ? 'prefetch+fhir' : 'fhir';
        return;
      }
      failures[t.key] = failureOf(r.reason);
      // The first page is newest-first data the EHR already gave us: use it, and say it is partial.
      if (continueFrom) partial.push(t.key);
      else sources[t.key] = 'unavailable';
    });
  }

  const first = resources[reads.patientKey]?.[0];
  return {
    ...(first?.resourceType === 'Patient' ? { patient: first as Patient } : {}),
    resources,
    sources,
    partial,
    failures,
    unavailable: unavailableDomains(reads.contextDomains, (key) => sources[key] === 'unavailable'),
    ...(fhirMs !== undefined ? { fhirMs } : {}),
  };
}

/** Every resource read, the patient's own read left out, each once (two keys may read the same resource). */
export function recordResources(read: RecordRead, reads: ServiceReads): Resource[] {
  const seen = new Set<Resource>();
  for (const [key, list] of Object.entries(read.resources))
    if (key !== reads.patientKey) for (const r of list) seen.add(r);
  return [...seen];
}

/** Where Medications read by reference are kept: not a template key, so no context domain names it. */
export const REFERENCED_MEDICATIONS = 'referencedMedications';
/** At most this many Medications are read one by one for one call; a longer list is left to _include. */
export const MAX_MEDICATION_READS = 25;
/** The four medication resources: each may name its medicine by medicationReference. */
const MEDICATION_RESOURCES = new Set([
  'MedicationRequest',
  'MedicationStatement',
  'MedicationAdministration',
  'MedicationDispense',
]);

/** The resources of a hook's draftOrders Bundle as sent: read here only for where their medicationReference points. */
function draftOrderResources(context: Record<string, unknown>): unknown[] {
  const entries = (context.draftOrders as { entry?: unknown } | undefined)?.entry;
  return Array.isArray(entries) ? entries.map((e) => (e as { resource?: unknown } | null)?.resource) : [];
}

/**
 * Ids of the Medications that orders and statements point at (`Medication/123`, or an absolute URL under the FHIR
 * base) and that nothing read so far holds. A contained `#id` travels with its order; a reference to another server
 * is never followed (the token is for this one).
 */
export function medicationReferences(all: readonly unknown[], base: string | undefined): string[] {
  const resources = all.filter((r): r is Resource => isResource(r));
  const have = new Set(
    resources.filter((r) => r.resourceType === 'Medication' && typeof r.id === 'string').map((r) => r.id as string),
  );
  const root = base?.replace(/\/+$/, '');
  const want = new Set<string>();
  for (const r of resources) {
    if (!MEDICATION_RESOURCES.has(r.resourceType)) continue;
    const ref = (r as { medicationReference?: { reference?: unknown } }).medicationReference?.reference;
    if (typeof ref !== 'string' || ref.trim().startsWith('#')) continue;
    const t = ref.trim();
    const local = /^https?:\/\//i.test(t)
      ? root && t.startsWith(`${root}/`)
        ? t.slice(root.length + 1)
        : undefined
      : t;
    const id = local ? /^Medication\/([^/]+)$/.exec(local)?.[1] : undefined;
    if (id && isFhirId(id) && !have.has(id)) want.add(id);
  }
  return [...want];
}

/**
 * Reads the Medications that the record's orders (and the hook's draft orders) point at and that neither prefetch
 * nor `_include` brought, one read each through the same transport and budget, so the engine receives resolved
 * Medications. One that cannot be read leaves its order unrecognised: the medicines then count as not fully read
 * (`medications` unavailable), so the rules say what could not be checked instead of reading it as no medicine.
 */
export async function readReferencedMedications(
  read: RecordRead,
  context: Record<string, unknown>,
  transport: Transport | undefined,
  opts: Pick<ReadOptions, 'observe'> = {},
): Promise<RecordRead> {
  const ids = medicationReferences(
    [...Object.values(read.resources).flat(), ...draftOrderResources(context)],
    transport?.base,
  );
  if (!ids.length) return read;
  const wanted = transport ? ids.slice(0, MAX_MEDICATION_READS) : [];
  const started = performance.now();
  const results = await Promise.allSettled(
    wanted.map(async (id) => {
      const t0 = performance.now();
      try {
        const r = await readOne(transport as Transport, `Medication/${encodeURIComponent(id)}`);
        opts.observe?.('ok', (performance.now() - t0) / 1000);
        return r;
      } catch (e) {
        opts.observe?.(outcomeOf(failureOf(e)), (performance.now() - t0) / 1000);
        throw e;
      }
    }),
  );
  const medications: Resource[] = [];
  let failure: FhirFailure | undefined;
  results.forEach((r, i) => {
    if (r.status === 'rejected') failure ??= failureOf(r.reason);
    else if (r.value?.resourceType === 'Medication' && r.value.id === wanted[i]) medications.push(r.value);
    else failure ??= r.value ? { kind: 'invalid-response' } : { kind: 'http', status: 404 };
  });
  const unread = ids.length - medications.length;
  return {
    ...read,
    resources: { ...read.resources, [REFERENCED_MEDICATIONS]: medications },
    sources: { ...read.sources, [REFERENCED_MEDICATIONS]: medications.length ? 'fhir' : 'unavailable' },
    failures: { ...read.failures, ...(failure ? { [REFERENCED_MEDICATIONS]: failure } : {}) },
    unavailable:
      unread && !read.unavailable.includes('medications') ? [...read.unavailable, 'medications'] : read.unavailable,
    ...(wanted.length ? { fhirMs: (read.fhirMs ?? 0) + (performance.now() - started) } : {}),
  };
}
