/*
 * A FHIR server that behaves like a vendor's, in a process of its own (spawnVendorFhir below): the demo patients
 * in the embedded server (src/demo/fhir-server.ts, the lenient one), behind rules that refuse what the vendor's
 * FHIR API refuses, as its public documentation and others' live tests report:
 *   epic   — `_include` refused on every search, `code` refused on MedicationRequest (400, OperationOutcome
 *            not-supported); with VENDOR_DATA=true also ids of 150 characters on every resource but the Patient
 *            (contained ones and their `#id` references too) and the SNOMED CT oral route 260548002 instead of 26643006.
 *   oracle — `_sort` refused on every search (400), no MedicationStatement endpoint (404).
 *   lenient — the embedded server as it is: the reference the others are compared with.
 * Every request is recorded with the status it got; GET /_requests answers them (and empties the list).
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { createEmbeddedFhirServer } from '../../src/demo/fhir-server';
import { demoTransaction } from '../../src/demo/patients';
import { type ChildCrosstalk, spawnService } from './child';

export type Vendor = 'epic' | 'oracle' | 'lenient';

export interface VendorRequest {
  method: string;
  url: string;
  status: number;
  prefer?: string;
}

const LONG = 150;
const PAD = '-Z';
/** A 150-character id that keeps the short one readable at its start (Epic's are opaque; length is what matters). */
export const longId = (id: string) =>
  id.length >= LONG ? id : `${id}${PAD}${'Z'.repeat(LONG - id.length - PAD.length)}`;
const shortId = (id: string) => id.replace(/-Z+$/, '');

function outcome(code: string, text: string, expression?: string) {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, details: { text }, ...(expression ? { expression: [expression] } : {}) }],
  };
}

type Refusal = { status: number; body: unknown } | undefined;

/** What the vendor refuses of a request, before the embedded server sees it. */
function refusal(vendor: Vendor, type: string, params: URLSearchParams, isSearch: boolean): Refusal {
  const names = [...params.keys()].map((k) => k.split(':')[0]);
  if (vendor === 'epic' && isSearch) {
    if (names.includes('_include'))
      return { status: 400, body: outcome('not-supported', 'The _include parameter is not supported', '_include') };
    if (type === 'MedicationRequest' && names.includes('code'))
      return { status: 400, body: outcome('not-supported', 'Unknown search parameter: code', 'code') };
  }
  if (vendor === 'oracle') {
    if (type === 'MedicationStatement')
      return { status: 404, body: outcome('not-supported', 'Resource type MedicationStatement is not supported') };
    if (isSearch && names.includes('_sort'))
      return { status: 400, body: outcome('not-supported', 'Search result parameter _sort is not supported', '_sort') };
  }
  return undefined;
}

/** Epic's data: long ids (references rewritten with them) and SNOMED CT 260548002 for the oral route. */
function vendorData(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(vendorData);
  if (!x || typeof x !== 'object') return x;
  const o = x as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'id' && typeof v === 'string' && typeof o.resourceType === 'string' && o.resourceType !== 'Patient')
      out[k] = o.resourceType === 'Bundle' ? v : longId(v);
    else if (
      k === 'reference' &&
      typeof v === 'string' &&
      /^[A-Z][A-Za-z]+\/[^/]+$/.test(v) &&
      !v.startsWith('Patient/')
    )
      out[k] = `${v.split('/')[0]}/${longId(v.split('/')[1] as string)}`;
    // A contained resource's id is lengthened like any other, so the `#id` that points at it is too.
    else if (k === 'reference' && typeof v === 'string' && v.startsWith('#') && v.length > 1)
      out[k] = `#${longId(v.slice(1))}`;
    else if (k === 'fullUrl' && typeof v === 'string' && !/\/Patient\//.test(v))
      out[k] = v.replace(/\/([^/]+)$/, (_, id: string) => `/${longId(id)}`);
    else if (k === 'code' && v === '26643006' && o.system === 'http://snomed.info/sct') out[k] = '260548002';
    else out[k] = vendorData(v);
  }
  return out;
}

async function main(): Promise<void> {
  const vendor = (process.env.VENDOR ?? 'lenient') as Vendor;
  const data = process.env.VENDOR_DATA === 'true' && vendor === 'epic';
  const fhir = await createEmbeddedFhirServer();
  await fhir.seed(demoTransaction(new Date()));
  const requests: VendorRequest[] = [];
  const app = express();
  app.get('/_requests', (_req, res) => {
    res.json(requests.splice(0));
  });
  app.use('/fhir', (req, res, next) => {
    const url = new URL(req.url, 'http://vendor.invalid');
    const segments = url.pathname.split('/').filter(Boolean);
    const type = segments[0] ?? '';
    const record = (status: number) =>
      requests.push({
        method: req.method,
        url: req.originalUrl,
        status,
        ...(typeof req.headers.prefer === 'string' ? { prefer: req.headers.prefer } : {}),
      });
    const refused = refusal(vendor, type, url.searchParams, req.method === 'GET' && segments.length === 1);
    if (refused) {
      record(refused.status);
      res.status(refused.status).type('application/fhir+json').json(refused.body);
      return;
    }
    if (data && segments.length === 2) req.url = `/${type}/${shortId(segments[1] as string)}${url.search}`;
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      record(res.statusCode);
      return json(data ? vendorData(body) : body);
    };
    next();
  });
  app.use('/fhir', fhir.router);
  const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    // The line spawnService waits for.
    console.log(JSON.stringify({ msg: 'crosstalk listening', url: `http://127.0.0.1:${port}`, vendor }));
  });
}

if (require.main === module) void main();

const ROOT = path.resolve(__dirname, '../..');

export interface VendorFhir {
  fhirBase: string;
  child: ChildCrosstalk;
  /** Requests since the last call of this, with the status each got. */
  requests(): Promise<VendorRequest[]>;
  close(): Promise<void>;
}

/** A vendor-like FHIR server in its own process, seeded with the demo patients. */
export async function spawnVendorFhir(vendor: Vendor, opts: { data?: boolean } = {}): Promise<VendorFhir> {
  const child = await spawnService({
    cwd: ROOT,
    args: ['--require', 'tsx/cjs', path.join(ROOT, 'test/support/vendor-fhir-server.ts')],
    env: { VENDOR: vendor, VENDOR_DATA: String(!!opts.data) },
    // Indexing the FHIR definitions takes seconds, and much longer on a loaded machine.
    timeoutMs: 180_000,
  });
  return {
    fhirBase: `${child.url}/fhir`,
    child,
    requests: async () => (await (await fetch(`${child.url}/_requests`)).json()) as VendorRequest[],
    close: async () => {
      child.child.kill('SIGTERM');
      await child.exited;
    },
  };
}
