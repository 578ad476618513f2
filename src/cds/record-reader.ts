/*
 * The one record reader: how the server (a CDS call), the SMART app (in the browser) and the CLI (a Bundle on
 * disk) read a patient's record. Templates → requests → pages → resources → unavailable domains, here once, with
 * no I/O of its own and no Node built-ins; the bytes come through a thin transport per environment, as SMART
 * client-js has one core with environment adapters: Node (src/fhir/client.ts: egress guard, byte caps, abort),
 * the browser (src/fhir/fhirclient-transport.ts: fhirclient's request with the launch's token), a Bundle
 * (src/cli/bundle-transport.ts). Failures are typed values (FhirFailure), never read from error messages.
 */
import type { Bundle, Patient, Resource } from 'fhir/r4';
import type { ContextDomain, Unreadable } from '../clinical';
import {
  assertUnderBase,
  baseUrl,
  bundleResources,
  FhirError,
  type FhirFailure,
  failureOf,
  isResource,
  isUnderBase,
  nextLink,
  outcomeOf,
} from '../fhir/bundle';
import { isFhirId } from '../fhir/ids';
import { classifyPrefetch, fillTemplate, type PrefetchState, type Template } from './prefetch';
import { type ServiceReads, unavailableDomains } from './reads';
import {
  filterLocally,
  needsWholeList,
  nextForm,
  plainestForm,
  type SearchForm,
  type SearchMemory,
  searchForms,
  searchMemory,
  serverIgnored,
  sortLocally,
} from './search-ladder';

/** One environment's way to GET FHIR: an absolute URL under `base` in, parsed JSON out; failures reject with FhirError. */
export interface Transport {
  /** The FHIR base URL; every URL the reader asks for, paging links included, stays under it. */
  base: string;
  /** `prefer`: a Prefer header to send (`handling=lenient` on the last step of the search ladder). */
  get(url: URL, opts?: { prefer?: string }): Promise<unknown>;
}

export type DataSource = 'prefetch' | 'fhir' | 'prefetch+fhir' | 'unavailable';

export interface RecordRead {
  /** The Patient the patient key read, when it read one. */
  patient?: Patient;
  /** What each key read. Searches drop OperationOutcomes (search mode "outcome" is not data). */
  resources: Record<string, Resource[]>;
  sources: Record<string, DataSource>;
  /**
   * Keys read only in part: a paginated prefetch whose later pages could not be read, or a list cut at the page
   * limit or at a `next` link outside the FHIR base. What was read is kept; their domains are in `unreadable`.
   */
  partial: string[];
  /** One per domain of each partial key: "could not be checked", never read as the whole list. */
  unreadable: Unreadable[];
  /** Why each key read from the FHIR server failed. */
  failures: Record<string, FhirFailure>;
  /** Kinds of context none of whose keys could be had: the rules that need them say so. */
  unavailable: ContextDomain[];
  /** Milliseconds spent reading from the FHIR server, when anything was read from it. */
  fhirMs?: number;
  /**
   * Keys read in a simpler form than their template because the server rejected (or said it ignored) a part of
   * it: the steps of the search ladder taken (`no-sort+no-include`), or `missing-endpoint`. No ids, no values.
   */
  fallbacks?: Record<string, string>;
}

export interface ReadOptions {
  /** Pages per search, the first included (a paginated prefetch Bundle counts as the first). */
  maxPages: number;
  /** CDS Hooks prefetch, used where it is usable (see classifyPrefetch); what it lacks is read through the transport. */
  prefetch?: Record<string, unknown>;
  /** Told of every key read through the transport: its outcome (ok, a failure kind, or http_<status>) and seconds. */
  observe?: (outcome: string, seconds: number) => void;
  /** What each FHIR server supports, per search shape (src/cds/search-ladder.ts); the process's own by default. */
  memory?: SearchMemory;
  /** Requests beyond one per key that the search ladder may send in this call, all keys together. */
  maxFallbackRequests?: number;
}

const notOutcome = (r: Resource) => r.resourceType !== 'OperationOutcome';

function get(t: Transport, url: URL, prefer?: string): Promise<unknown> {
  assertUnderBase(url, t.base);
  return prefer ? t.get(url, { prefer }) : t.get(url);
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

/** Why a list was read only in part: the page limit, or a `next` link that leaves the FHIR base. */
export type Cut = Extract<FhirFailure, { kind: 'page-limit' } | { kind: 'refused' }>;

/** A list as read: its resources, and why reading stopped before its last page when it did. */
type Paged = Resource[] & { cut?: Cut };

/**
 * The resources of a Bundle and of the pages after it, following `next` links up to maxPages pages in all, and
 * only links under the FHIR base (the token goes nowhere else). A list left unfinished says why (`cut`), so its
 * domains read "could not be checked", never complete. `whole`: a list that must be read to its end (unsorted or
 * unfiltered by the server); pages left over fail it.
 */
async function pages(
  t: Transport,
  first: Bundle,
  pagesSoFar: number,
  maxPages: number,
  whole = false,
  prefer?: string,
): Promise<Paged> {
  const out = bundleResources(first);
  let page = first;
  let n = pagesSoFar;
  let cut: Cut | undefined;
  for (let next = nextLink(page); next; next = nextLink(page)) {
    if (n >= maxPages) {
      cut = { kind: 'page-limit', maxPages };
      break;
    }
    const url = resolved(next, t.base);
    if (!url || !isUnderBase(url, t.base)) {
      cut = { kind: 'refused', why: 'URL outside the fhirServer base' };
      break;
    }
    page = asBundle(await get(t, url, prefer));
    n += 1;
    out.push(...bundleResources(page));
  }
  if (cut && whole) throw new FhirError(cut);
  const list: Paged = out.filter(notOutcome);
  if (cut) list.cut = cut;
  return list;
}

/** A link as a URL against the base, or undefined when it is none. */
function resolved(link: string, base: string): URL | undefined {
  try {
    return new URL(link, baseUrl(base));
  } catch {
    return undefined;
  }
}

/** A search rejected for what it asks: another form of it may be accepted. */
const rejected = (f: FhirFailure): f is Extract<FhirFailure, { kind: 'http' }> =>
  f.kind === 'http' && [400, 404, 405, 422, 501].includes(f.status);
/** What a server answers a search of a type it has no endpoint for. */
const noEndpoint = (f: FhirFailure) => f.kind === 'http' && [404, 405, 501].includes(f.status);
const LENIENT = 'handling=lenient';

interface Searched {
  resources: Resource[];
  /** The ladder steps taken, or `missing-endpoint`; undefined for the search as written. */
  fallback?: string;
  /** Why the list was read only in part, when it was. */
  cut?: Cut;
}

/** The call's allowance of extra requests, shared by its keys. */
interface Allowance {
  left: number;
}

/**
 * One search through the ladder (src/cds/search-ladder.ts): the form remembered for this server and shape first
 * (the template as written when none is), then simpler forms while the server rejects them, each extra request
 * counted against the call's allowance, its time budget and its byte budget (the same transport). Whatever a
 * form no longer asks of the server (a filter, a sort) is done here. A type the server has no endpoint for
 * rejects with 404, remembered, so its domain reads "could not be checked" without asking again.
 */
async function search(
  t: Transport,
  relative: string,
  maxPages: number,
  memory: SearchMemory,
  allowance: Allowance,
  observe: ReadOptions['observe'],
): Promise<Searched> {
  const type = relative.split(/[/?]/)[0] ?? '';
  if (memory.missing(t.base, type)) throw new FhirError({ kind: 'http', status: 404 });
  const forms = searchForms(relative);
  let i = Math.min(memory.formFor(t.base, relative), forms.length - 1);
  let firstFailure: unknown;
  let checkedEndpoint = false;
  const attempt = async (form: SearchForm, whole: boolean): Promise<Paged & { ignored?: boolean }> => {
    const t0 = performance.now();
    try {
      const prefer = form.lenient ? LENIENT : undefined;
      const first = asBundle(await get(t, new URL(form.url, baseUrl(t.base)), prefer));
      // A server that answers but says it ignored a parameter has filtered or sorted nothing: read it as lenient.
      const ignored = serverIgnored(bundleResources(first), form.url);
      const out: Paged & { ignored?: boolean } = await pages(t, first, 1, maxPages, whole || ignored, prefer);
      observe?.('ok', (performance.now() - t0) / 1000);
      if (ignored) out.ignored = true;
      return out;
    } catch (e) {
      observe?.(outcomeOf(failureOf(e)), (performance.now() - t0) / 1000);
      throw e;
    }
  };
  for (;;) {
    const form = forms[i] as SearchForm;
    try {
      const got = await attempt(form, needsWholeList(form));
      memory.remember(t.base, relative, i);
      const asRead: SearchForm = got.ignored ? { ...form, lenient: true } : form;
      const relaxed = got.ignored ? [...form.relaxed, 'ignored'] : form.relaxed;
      const filtered = filterLocally(got, relative, asRead);
      const resources =
        asRead.relaxed.includes('no-sort') || asRead.lenient ? sortLocally(filtered, relative) : filtered;
      return {
        resources,
        ...(relaxed.length ? { fallback: relaxed.join('+') } : {}),
        ...(got.cut ? { cut: got.cut } : {}),
      };
    } catch (e) {
      const f = failureOf(e);
      if (!rejected(f)) throw e;
      firstFailure ??= e;
      if (allowance.left <= 0) throw firstFailure;
      if (noEndpoint(f) && !checkedEndpoint) {
        // A search of an endpoint that exists answers a Bundle, empty or not: ask the plainest form to be sure.
        checkedEndpoint = true;
        allowance.left -= 1;
        try {
          await attempt(plainestForm(relative), false);
        } catch (plain) {
          const pf = failureOf(plain);
          if (noEndpoint(pf)) {
            memory.rememberMissing(t.base, type);
            throw new FhirError({ kind: 'http', status: pf.kind === 'http' ? pf.status : 404 });
          }
        }
        if (allowance.left <= 0) throw firstFailure;
      }
      const next = nextForm(forms, i, f.named ?? []);
      if (next >= forms.length) throw firstFailure;
      allowance.left -= 1;
      i = next;
    }
  }
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
  const fallbacks: Record<string, string> = {};
  const toRead: { t: Template; continueFrom?: Bundle }[] = [];
  /** Why each list read in part stopped early (the page limit, a link outside the base). */
  const cuts: Record<string, Cut> = {};

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
    const memory = opts.memory ?? searchMemory;
    const allowance = { left: opts.maxFallbackRequests ?? 4 * toRead.length };
    const results = await Promise.allSettled(
      toRead.map(async ({ t, continueFrom }) => {
        if (t.kind === 'search' && !continueFrom) {
          try {
            const s = await search(transport, t.url, opts.maxPages, memory, allowance, opts.observe);
            if (s.fallback) fallbacks[t.key] = s.fallback;
            if (s.cut) cuts[t.key] = s.cut;
            return s.resources;
          } catch (e) {
            const f = failureOf(e);
            if (f.kind === 'http' && memory.missing(transport.base, t.resourceType))
              fallbacks[t.key] = 'missing-endpoint';
            throw e;
          }
        }
        const t0 = performance.now();
        try {
          let out: Resource[];
          if (continueFrom) {
            const paged = await pages(transport, continueFrom, 1, opts.maxPages);
            if (paged.cut) cuts[t.key] = paged.cut;
            out = paged;
          } else {
            const r = await readOne(transport, t.url);
            out = r ? [r] : [];
          }
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
        if (cuts[t.key]) partial.push(t.key);
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
    unreadable: partial.flatMap((key) =>
      (reads.contextDomains[key] ?? []).map(
        (domain): Unreadable => ({
          domain,
          reference: `prefetch key "${key}"`,
          reason: partReason(failures[key] ?? cuts[key]),
        }),
      ),
    ),
    failures,
    unavailable: unavailableDomains(reads.contextDomains, (key) => sources[key] === 'unavailable'),
    ...(fhirMs !== undefined ? { fhirMs } : {}),
    fallbacks,
  };
}

/** Why a list was read in part, in plain words for the app and the audit. */
function partReason(f: FhirFailure | undefined): string {
  if (f?.kind === 'page-limit') return `read in part: more than ${f.maxPages} pages`;
  if (f?.kind === 'refused') return 'read in part: a next page outside the FHIR server was not followed';
  return `read in part: a later page could not be read (${f ? outcomeOf(f) : 'unknown'})`;
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
