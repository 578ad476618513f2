import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bundle, Resource } from 'fhir/r4';
import smart from 'fhirclient';
import type Client from 'fhirclient/lib/Client';
import type { fhirclient } from 'fhirclient/lib/types';
import { EgressPolicy, EgressRefused } from './egress';

/** Where to read FHIR for one CDS call: the EHR's server and the token it handed over (never stored). */
export interface FhirEndpoint {
  baseUrl: string;
  accessToken?: string;
}

export type FhirFailure =
  | { kind: 'http'; status: number }
  | { kind: 'timeout' }
  | { kind: 'network' }
  | { kind: 'refused'; why: string }
  | { kind: 'invalid-response' };

/** Carries only a classification: upstream bodies and URLs stay out of messages, so they stay out of logs. */
export class FhirError extends Error {
  constructor(readonly failure: FhirFailure) {
    super(`FHIR request failed: ${failure.kind}${failure.kind === 'http' ? ` ${failure.status}` : ''}`);
    this.name = 'FhirError';
  }
}

/** Paging links and every other URL must stay under the fhirServer the EHR named. */
export function assertUnderBase(url: URL, endpoint: FhirEndpoint): void {
  const base = new URL(endpoint.baseUrl.endsWith('/') ? endpoint.baseUrl : `${endpoint.baseUrl}/`);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname.replace(/\/$/, ''))) {
    throw new FhirError({ kind: 'refused', why: 'URL outside the fhirServer base' });
  }
}

export interface FetchOptions {
  signal: AbortSignal;
  maxPages: number;
  /** Which origins and addresses this call may reach (allow-list, https, no private networks). */
  egress: EgressPolicy;
}

// fhirclient's Node adapter wants a storage; without one a 401 turns into a TypeError.
function memoryStorage(): fhirclient.Storage {
  const m = new Map<string, unknown>();
  return {
    async get(k: string) { return m.get(k); },
    async set(k: string, v: unknown) { m.set(k, v); return v; },
    async unset(k: string) { return m.delete(k); },
  } as fhirclient.Storage;
}

const FAKE_REQ = { headers: {}, url: '/', socket: {} } as unknown as IncomingMessage;
const FAKE_RES = {} as ServerResponse;

function clientFor(ep: FhirEndpoint): Client {
  const state: fhirclient.ClientState = { serverUrl: ep.baseUrl };
  if (ep.accessToken) state.tokenResponse = { access_token: ep.accessToken, token_type: 'Bearer' } as fhirclient.TokenResponse;
  return smart(FAKE_REQ, FAKE_RES, memoryStorage()).client(state);
}

function classify(e: unknown, signal: AbortSignal): FhirError {
  if (e instanceof FhirError) return e;
  const err = e as { name?: string; status?: number; type?: string; code?: string; message?: string };
  if (e instanceof EgressRefused || err.type === 'no-redirect' || /egress refused/.test(err.message ?? '')) {
    return new FhirError({ kind: 'refused', why: e instanceof EgressRefused ? e.why : 'redirect or refused address' });
  }
  if (signal.aborted || err.name === 'AbortError' || err.name === 'TimeoutError') return new FhirError({ kind: 'timeout' });
  if (typeof err.status === 'number') return new FhirError({ kind: 'http', status: err.status });
  return new FhirError({ kind: 'network' });
}

function absolute(ep: FhirEndpoint, relative: string): URL {
  return new URL(relative, ep.baseUrl.endsWith('/') ? ep.baseUrl : `${ep.baseUrl}/`);
}

async function get(client: Client, ep: FhirEndpoint, url: URL, opts: FetchOptions): Promise<unknown> {
  assertUnderBase(url, ep);
  let rule;
  try {
    rule = opts.egress.check(url);
  } catch (e) {
    throw classify(e, opts.signal);
  }
  try {
    // fhirclient hands these to node-fetch: the guarded agent checks addresses at connect time, and
    // redirects are refused outright so neither the request nor the token can be bounced elsewhere.
    return await client.request({ url: url.href, signal: opts.signal, agent: opts.egress.agent(url, rule), redirect: 'error' } as fhirclient.RequestOptions);
  } catch (e) {
    throw classify(e, opts.signal);
  }
}

function isResource(x: unknown): x is Resource {
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
  return b.entry.flatMap((e) => (e && typeof e === 'object' && e.resource && typeof e.resource === 'object' ? [e.resource] : []));
}

/** One FHIR connection for one CDS call. */
export class FhirSession {
  private readonly client: Client;

  constructor(
    readonly endpoint: FhirEndpoint,
    private readonly opts: FetchOptions,
  ) {
    this.client = clientFor(endpoint);
  }

  /** A read; a 404 answers undefined. */
  async read(relative: string): Promise<Resource | undefined> {
    try {
      const r = await get(this.client, this.endpoint, absolute(this.endpoint, relative), this.opts);
      if (!isResource(r)) throw new FhirError({ kind: 'invalid-response' });
      return r;
    } catch (e) {
      if (e instanceof FhirError && e.failure.kind === 'http' && e.failure.status === 404) return undefined;
      throw e;
    }
  }

  /** A search, following `next` links (each one checked by the guard) up to maxPages pages. */
  async search(relative: string): Promise<Resource[]> {
    const first = await get(this.client, this.endpoint, absolute(this.endpoint, relative), this.opts);
    if (!isResource(first) || first.resourceType !== 'Bundle') throw new FhirError({ kind: 'invalid-response' });
    return this.continue(first as Bundle, 1);
  }

  /** Collects the resources of a Bundle and of the pages after it (a paginated prefetch continues here). */
  async continue(bundle: Bundle, pagesSoFar = 1): Promise<Resource[]> {
    const out = bundleResources(bundle);
    let page = bundle;
    let pages = pagesSoFar;
    for (let next = nextLink(page); next && pages < this.opts.maxPages; next = nextLink(page)) {
      const r = await get(this.client, this.endpoint, new URL(next, this.endpoint.baseUrl), this.opts);
      if (!isResource(r) || r.resourceType !== 'Bundle') throw new FhirError({ kind: 'invalid-response' });
      page = r as Bundle;
      pages += 1;
      out.push(...bundleResources(page));
    }
    return out;
  }
}
