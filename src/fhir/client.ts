import http from 'node:http';
import https from 'node:https';
import { pipeline, Transform, Writable } from 'node:stream';
import zlib from 'node:zlib';
import type { Transport } from '../cds/record-reader';
import { FhirError, type FhirFailure, rejectionOf } from './bundle';
import { type EgressPolicy, EgressRefused } from './egress';
import { JsonDepthCounter } from './json-depth';

/** Where to read FHIR for one CDS call: the EHR's server and the token it handed over (never stored). */
export interface FhirEndpoint {
  baseUrl: string;
  accessToken?: string;
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
    if (soFar + n > this.maxResponseBytes)
      throw new FhirError({ kind: 'too-large', cap: 'response', limitBytes: this.maxResponseBytes });
    if (this.used > this.maxCallBytes)
      throw new FhirError({ kind: 'too-large', cap: 'call', limitBytes: this.maxCallBytes });
  }
}

export interface FetchOptions {
  signal: AbortSignal;
  /** Which origins and addresses this call may reach (allow-list, https, no private networks). */
  egress: EgressPolicy;
  bytes: ByteBudget;
  /** Deepest JSON nesting read; a deeper answer is cut off while it streams, never parsed. */
  maxJsonDepth: number;
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

type Coding = 'identity' | 'gzip' | 'deflate' | 'br';

/**
 * The content coding of an answer, or undefined for one not read: an unknown coding, or codings stacked
 * (`gzip, br`), which would multiply what a small answer grows to and are never asked for.
 */
function codingOf(encoding: string | undefined): Coding | undefined {
  switch ((encoding ?? 'identity').trim().toLowerCase()) {
    case 'identity':
    case '':
      return 'identity';
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'deflate':
      return 'deflate';
    case 'br':
      return 'br';
    default:
      return undefined;
  }
}

/**
 * Brotli decoders in use at once, process-wide. A gzip or deflate decoder keeps a 32 kB window; a brotli decoder
 * keeps the window the sender declares (checked against the per-answer cap first), decoding up to a window
 * ahead of what it hands out, so a bomb costs a window of memory and CPU whatever the byte caps count.
 * Brotli is not asked for (Accept-Encoding), so only a server that sends it anyway waits for one of these.
 */
const BROTLI_DECODERS = 4;
let brotliInUse = 0;
const brotliWaiting: (() => void)[] = [];

/**
 * The sliding window a brotli stream declares in its first byte (RFC 7932 section 9.1, WBITS), in bytes: what its
 * decoder will hold, whatever the stream inflates to. Undefined for the large-window extension, never accepted.
 */
export function brotliWindow(first: number): number | undefined {
  let wbits: number;
  if ((first & 1) === 0) wbits = 16;
  else if (((first >> 1) & 7) !== 0) wbits = 17 + ((first >> 1) & 7);
  else {
    const m = (first >> 4) & 7;
    if (m === 1) return undefined;
    wbits = m === 0 ? 17 : 8 + m;
  }
  return (1 << wbits) - 16;
}

/**
 * Passes a brotli stream through once its declared window fits within `maxBytes`, the per-answer cap: a decoder
 * whose window alone is larger than an answer may be is never made (a bomb declares the largest, 16 MB).
 */
function brotliWindowCheck(maxBytes: number): Transform {
  let checked = false;
  return new Transform({
    transform(chunk: Buffer, _enc, next) {
      if (!checked && chunk.length) {
        checked = true;
        const w = brotliWindow(chunk[0] as number);
        if (w === undefined || w > maxBytes)
          return next(new FhirError({ kind: 'too-large', cap: 'response', limitBytes: maxBytes }));
      }
      next(null, chunk);
    },
  });
}

/** Waits for a brotli decoder slot (or the call's end); resolves with its release, safe to call twice. */
function brotliSlot(signal: AbortSignal): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const grant = () => {
      brotliInUse += 1;
      let released = false;
      resolve(() => {
        if (released) return;
        released = true;
        brotliInUse -= 1;
        brotliWaiting.shift()?.();
      });
    };
    if (signal.aborted) return reject(signal.reason);
    if (brotliInUse < BROTLI_DECODERS) return grant();
    const onAbort = () => {
      const i = brotliWaiting.indexOf(wake);
      if (i >= 0) brotliWaiting.splice(i, 1);
      reject(signal.reason);
    };
    const wake = () => {
      signal.removeEventListener('abort', onAbort);
      grant();
    };
    brotliWaiting.push(wake);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One GET, read as a stream and counted as it arrives (after decompression, so a small gzip bomb counts at
 * its real size): the read is cut at the cap, never buffered whole first. fhirclient's request() reads
 * every body, error bodies included, to the end with no limit, so reads go through node:http here.
 * Redirects are refused outright so neither the request nor the token can be bounced elsewhere, and the
 * shared guarded agent checks addresses whenever it opens a socket (src/fhir/egress.ts).
 */
/** Statuses a server answers to a search it does not support: their OperationOutcome says what to drop. */
const REJECTION = new Set([400, 404, 405, 422, 501]);
/** How much of such an error body is read (counted in the call's budget); a larger one is left unread. */
const MAX_ERROR_BODY = 16 * 1024;

/** The parameter names of a search URL, modifiers dropped (`code:in` → `code`). */
const paramNames = (url: URL) => [...new Set([...url.searchParams.keys()].map((k) => k.split(':')[0] as string))];

function getJson(url: URL, ep: FhirEndpoint, opts: FetchOptions, retried = false, prefer?: string): Promise<unknown> {
  let rule;
  try {
    rule = opts.egress.check(url);
  } catch (e) {
    return Promise.reject(classify(e, opts.signal));
  }
  const agent = opts.egress.agent(url, rule);
  return new Promise<unknown>((resolve, reject) => {
    const fail = (e: unknown) => reject(classify(e, opts.signal));
    const headers: http.OutgoingHttpHeaders = {
      accept: 'application/fhir+json, application/json;q=0.9',
      // Not br: its decoders hold windows of up to 16 MB each (see BROTLI_DECODERS); gzip's hold 32 kB.
      'accept-encoding': 'gzip, deflate',
    };
    if (ep.accessToken) headers.authorization = `Bearer ${ep.accessToken}`;
    if (prefer) headers.prefer = prefer;
    let answered = false;
    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      { method: 'GET', agent, headers, signal: opts.signal },
      (res) => {
        answered = true;
        const status = res.statusCode ?? 0;
        const refuse = (f: FhirFailure) => {
          res.destroy();
          reject(new FhirError(f));
        };
        if (status >= 300 && status < 400) return refuse({ kind: 'refused', why: 'redirect' });
        // Error bodies are not read, an error page can be as large as any; only a search's rejection is, a little
        // of it, for the OperationOutcome that names the parameter the server does not support.
        if (REJECTION.has(status) && url.search) return readRejection(res, status, url, opts, reject);
        if (status < 200 || status >= 300) return refuse({ kind: 'http', status });
        if (!/\bjson\b/i.test(res.headers['content-type'] ?? '')) return refuse({ kind: 'invalid-response' });
        const coding = codingOf(res.headers['content-encoding']);
        if (coding === undefined) return refuse({ kind: 'invalid-response' });
        const chunks: Buffer[] = [];
        let size = 0;
        const depth = new JsonDepthCounter(opts.maxJsonDepth);
        // Every decompressed chunk is counted and depth-checked before it is kept, so the first chunk past a cap
        // ends the read: the response and its decompressor are destroyed, nothing more is inflated.
        const take = (chunk: Buffer): Error | undefined => {
          try {
            opts.bytes.take(chunk.length, size);
          } catch (e) {
            return e as Error;
          }
          if (!depth.feed(chunk)) return new FhirError({ kind: 'too-deep', maxDepth: opts.maxJsonDepth });
          size += chunk.length;
          chunks.push(chunk);
          return undefined;
        };
        const done = (e?: Error | null) => {
          if (e) return fail(e);
          try {
            resolve(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
          } catch {
            // Not JSON (an HTML error page sent as JSON, a truncated body): the server answered, but not with FHIR.
            reject(new FhirError({ kind: 'invalid-response' }));
          }
        };
        if (coding !== 'identity') {
          // highWaterMark 0: the decompressor makes no more output than the sink has taken, so what is inflated
          // past a cap is at most one decompressor chunk (16 kB), whatever the ratio of the bomb; the pipeline
          // destroys the response and the decompressor at the first chunk past a cap.
          const sink = () =>
            new Writable({ highWaterMark: 0, write: (chunk: Buffer, _enc, next) => next(take(chunk)) });
          if (coding !== 'br')
            return pipeline(res, coding === 'gzip' ? zlib.createGunzip() : zlib.createInflate(), sink(), done);
          // The answer waits, unread (TCP back-pressure), until a brotli decoder is free or the call ends.
          return void brotliSlot(opts.signal).then(
            (release) => {
              const check = brotliWindowCheck(opts.bytes.maxResponseBytes);
              pipeline(res, check, zlib.createBrotliDecompress(), sink(), (e) => {
                release();
                done(e);
              });
            },
            (e: unknown) => {
              res.destroy();
              fail(e);
            },
          );
        }
        // An uncompressed answer (the usual case) is read straight from the response: a pipeline per read costs
        // an AbortController and a DOMException when it finishes, a tenth of a fallback call's CPU over 15 reads.
        let settled = false;
        const settle = (e?: Error | null) => {
          if (settled) return;
          settled = true;
          done(e);
        };
        res.on('data', (chunk: Buffer) => {
          const over = take(chunk);
          if (over) {
            res.destroy();
            settle(over);
          }
        });
        res.on('end', () => settle());
        res.on('error', (e) => settle(e));
        // Cut off mid-answer (the server or the call's signal): neither 'end' nor always 'error' follows.
        res.on('close', () => {
          if (!res.complete) settle(new Error('answer cut off'));
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      // A pooled socket the server closed while idle fails before any answer; a GET is safe to repeat, so it
      // is sent once more on a fresh socket (Node's documented pattern for keep-alive agents).
      if (
        !retried &&
        !answered &&
        req.reusedSocket &&
        !opts.signal.aborted &&
        (e.code === 'ECONNRESET' || e.code === 'EPIPE')
      ) {
        getJson(url, ep, opts, true, prefer).then(resolve, reject);
        return;
      }
      fail(e);
    });
    req.end();
  });
}

/** Reads at most MAX_ERROR_BODY bytes of a rejection and rejects with what its OperationOutcome names. */
function readRejection(
  res: http.IncomingMessage,
  status: number,
  url: URL,
  opts: FetchOptions,
  reject: (e: unknown) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const finish = (body: unknown) => {
    if (settled) return;
    settled = true;
    const { named, unsupported } = rejectionOf(body, paramNames(url));
    reject(
      new FhirError({
        kind: 'http',
        status,
        ...(named.length ? { named } : {}),
        ...(unsupported ? { unsupported } : {}),
      }),
    );
  };
  const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (!/\bjson\b/i.test(res.headers['content-type'] ?? '') || (encoding !== 'identity' && encoding !== '')) {
    res.destroy();
    return finish(undefined);
  }
  res.on('data', (chunk: Buffer) => {
    if (settled) return;
    try {
      opts.bytes.take(chunk.length, size);
    } catch (e) {
      settled = true;
      res.destroy();
      return reject(e);
    }
    size += chunk.length;
    chunks.push(chunk);
    if (size > MAX_ERROR_BODY) {
      res.destroy();
      finish(undefined);
    }
  });
  res.on('end', () => {
    try {
      finish(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
    } catch {
      finish(undefined);
    }
  });
  res.on('error', () => finish(undefined));
  res.on('close', () => finish(undefined));
}

/**
 * The record reader's transport on the server (src/cds/record-reader.ts): every GET goes through the egress
 * guard, counts against the call's byte budget, and stops when the call's signal aborts.
 */
export function nodeTransport(endpoint: FhirEndpoint, opts: FetchOptions): Transport {
  return { base: endpoint.baseUrl, get: (url, o) => getJson(url, endpoint, opts, false, o?.prefer) };
}
