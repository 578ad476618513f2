import http from 'node:http';
import https from 'node:https';
import { type Transform, Writable, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import type { Bundle, Resource } from 'fhir/r4';
import { EgressPolicy, EgressRefused } from './egress';

/** Where to read FHIR for one CDS call: the EHR's server and the token it handed over (never stored). */
export interface FhirEndpoint {
  baseUrl: string;
  accessToken?: string;
}

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

/** Paging links and every other URL must stay under the fhirServer the EHR named. */
export function assertUnderBase(url: URL, endpoint: FhirEndpoint): void {
  const base = new URL(endpoint.baseUrl.endsWith('/') ? endpoint.baseUrl : `${endpoint.baseUrl}/`);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname.replace(/\/$/, ''))) {
    throw new FhirError({ kind: 'refused', why: 'URL outside the fhirServer base' });
  }
}

/**
 * How many bytes of FHIR one CDS call may read: each answer (decompressed) and all answers together.
 * Shared by every read and page of the call, so 15 keys of 50 MB stop at the call's cap, not at 15 caps.
 */
export class ByteBudget {
  private used = 0;

  constructor(
    readonly maxResponseBytes: number,
    readonly maxCallBytes: number,
  ) {}

  get bytesRead(): number {
    return this.used;
  }

  /** Counts `n` more bytes of one answer that has read `soFar`; throws once either cap is passed. */
  take(n: number, soFar: number): void {
    this.used += n;
    if (soFar + n > this.maxResponseBytes) throw new FhirError({ kind: 'too-large', cap: 'response', limitBytes: this.maxResponseBytes });
    if (this.used > this.maxCallBytes) throw new FhirError({ kind: 'too-large', cap: 'call', limitBytes: this.maxCallBytes });
  }
}

export interface FetchOptions {
  signal: AbortSignal;
  maxPages: number;
  /** Which origins and addresses this call may reach (allow-list, https, no private networks). */
  egress: EgressPolicy;
  bytes: ByteBudget;
}

function classify(e: unknown, signal: AbortSignal): FhirError {
  if (e instanceof FhirError) return e;
  const err = e as { name?: string; code?: string; message?: string };
  if (e instanceof EgressRefused) return new FhirError({ kind: 'refused', why: e.why });
  if (signal.aborted) {
    const reason = signal.reason as { name?: string } | undefined;
    return new FhirError(reason?.name === 'TimeoutError' ? { kind: 'timeout' } : { kind: 'aborted' });
  }
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return new FhirError({ kind: 'timeout' });
  return new FhirError({ kind: 'network' });
}

function absolute(ep: FhirEndpoint, relative: string): URL {
  return new URL(relative, ep.baseUrl.endsWith('/') ? ep.baseUrl : `${ep.baseUrl}/`);
}

function decoderFor(encoding: string | undefined): Transform | null | undefined {
  switch ((encoding ?? 'identity').trim().toLowerCase()) {
    case 'identity':
    case '':
      return null;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

/**
 * One GET, read as a stream and counted as it arrives (after decompression, so a small gzip bomb counts at
 * its real size): the read is cut at the cap, never buffered whole first. fhirclient's request() reads
 * every body, error bodies included, to the end with no limit, so reads go through node:http here.
 * Redirects are refused outright so neither the request nor the token can be bounced elsewhere, and the
 * guarded agent checks addresses at connect time.
 */
function getJson(url: URL, ep: FhirEndpoint, opts: FetchOptions): Promise<unknown> {
  assertUnderBase(url, ep);
  let rule;
  try {
    rule = opts.egress.check(url);
  } catch (e) {
    return Promise.reject(classify(e, opts.signal));
  }
  const agent = opts.egress.agent(url, rule);
  return new Promise<unknown>((resolve, reject) => {
    const fail = (e: unknown) => reject(classify(e, opts.signal));
    const headers: http.OutgoingHttpHeaders = { accept: 'application/fhir+json, application/json;q=0.9', 'accept-encoding': 'gzip, deflate, br' };
    if (ep.accessToken) headers.authorization = `Bearer ${ep.accessToken}`;
    const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'GET', agent, headers, signal: opts.signal }, (res) => {
      const status = res.statusCode ?? 0;
      const refuse = (f: FhirFailure) => {
        res.destroy();
        reject(new FhirError(f));
      };
      if (status >= 300 && status < 400) return refuse({ kind: 'refused', why: 'redirect' });
      // Error bodies are not read at all: only the status matters, and an error page can be as large as any.
      if (status < 200 || status >= 300) return refuse({ kind: 'http', status });
      if (!/\bjson\b/i.test(res.headers['content-type'] ?? '')) return refuse({ kind: 'invalid-response' });
      const decoder = decoderFor(res.headers['content-encoding']);
      if (decoder === undefined) return refuse({ kind: 'invalid-response' });
      const chunks: Buffer[] = [];
      let size = 0;
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          try {
            opts.bytes.take(chunk.length, size);
          } catch (e) {
            return done(e as Error);
          }
          size += chunk.length;
          chunks.push(chunk);
          done();
        },
      });
      const done = (e?: Error | null) => {
        if (e) return fail(e);
        try {
          resolve(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
        } catch {
          // Not JSON (an HTML error page sent as JSON, a truncated body): the server answered, but not with FHIR.
          reject(new FhirError({ kind: 'invalid-response' }));
        }
      };
      if (decoder) pipeline(res, decoder, sink, done);
      else pipeline(res, sink, done);
    });
    req.on('error', fail);
    req.end();
  });
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
  constructor(
    readonly endpoint: FhirEndpoint,
    private readonly opts: FetchOptions,
  ) {}

  /** A read; a 404 answers undefined. */
  async read(relative: string): Promise<Resource | undefined> {
    try {
      const r = await getJson(absolute(this.endpoint, relative), this.endpoint, this.opts);
      if (!isResource(r)) throw new FhirError({ kind: 'invalid-response' });
      return r;
    } catch (e) {
      if (e instanceof FhirError && e.failure.kind === 'http' && e.failure.status === 404) return undefined;
      throw e;
    }
  }

  /** A search, following `next` links (each one checked by the guard) up to maxPages pages. */
  async search(relative: string): Promise<Resource[]> {
    const first = await getJson(absolute(this.endpoint, relative), this.endpoint, this.opts);
    if (!isResource(first) || first.resourceType !== 'Bundle') throw new FhirError({ kind: 'invalid-response' });
    return this.continue(first as Bundle, 1);
  }

  /** Collects the resources of a Bundle and of the pages after it (a paginated prefetch continues here). */
  async continue(bundle: Bundle, pagesSoFar = 1): Promise<Resource[]> {
    const out = bundleResources(bundle);
    let page = bundle;
    let pages = pagesSoFar;
    for (let next = nextLink(page); next && pages < this.opts.maxPages; next = nextLink(page)) {
      const r = await getJson(new URL(next, this.endpoint.baseUrl), this.endpoint, this.opts);
      if (!isResource(r) || r.resourceType !== 'Bundle') throw new FhirError({ kind: 'invalid-response' });
      page = r as Bundle;
      pages += 1;
      out.push(...bundleResources(page));
    }
    return out;
  }
}
