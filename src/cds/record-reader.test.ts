import path from 'node:path';
import { build } from 'esbuild';
import HttpError from 'fhirclient/lib/HttpError';
import { describe, expect, it } from 'vitest';
import { bundleTransport } from '../cli/bundle-transport';
import { daysAgo, lab, medicationRequest, patient, productMedication, searchset, transaction } from '../demo/builders';
import { FhirError } from '../fhir/bundle';
import { fhirclientFailure } from '../fhir/fhirclient-transport';
import { readsOf } from './reads';
import { REFERENCED_MEDICATIONS, readRecord, readReferencedMedications, recordResources } from './record-reader';
import { loadServices } from './services';

const service = loadServices().get('bone-muscle-patient-view');
if (!service) throw new Error('no patient-view service');
const reads = readsOf(service.definition);
const now = new Date('2026-11-25T12:00:00Z');
const record = transaction([
  patient('r1', 'female', '1950-01-01'),
  lab('cr', 'r1', 'creatinineMass', 0.8, daysAgo(now, 3)),
  lab('cys', 'r1', 'cystatinC', 1.1, daysAgo(now, 3)),
  patient('r2', 'male', '1940-01-01'),
  lab('cr2', 'r2', 'creatinineMass', 1.0, daysAgo(now, 3)),
]);
const entries = record.entry ?? [];
const entryOf = (id: string) =>
  entries.find((e) => e.resource?.resourceType === 'Patient' && e.resource.id === id) as (typeof entries)[number];

describe('the record reader', () => {
  it('bundles for the browser, with its fhirclient transport, without Node built-ins or server code', async () => {
    const out = await build({
      stdin: {
        contents: "export * from './src/cds/record-reader'; export * from './src/fhir/fhirclient-transport';",
        resolveDir: path.resolve(__dirname, '../..'),
        loader: 'ts',
      },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      define: { FHIRCLIENT_PURE: 'true' },
    });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.filter((i) => i.startsWith('node:') || /^(fs|path|http|https|net|dns|zlib|stream)$/.test(i))).toEqual(
      [],
    );
    expect(
      inputs.filter((i) => i.includes('src/server') || i.includes('src/fhir/client') || i.includes('src/fhir/egress')),
    ).toEqual([]);
  });

  it('reads one patient’s record from each template, each resource once, and finds nothing unavailable', async () => {
    const read = await readRecord(reads, { patientId: 'r1' }, bundleTransport(entries, entryOf('r1'), 'r1'), {
      maxPages: 1,
    });
    expect(read.patient?.id).toBe('r1');
    // Every Observation template reads every Observation of the Bundle; the record counts each once.
    expect(read.resources.creatinine?.map((r) => r.id).sort()).toEqual(['cr', 'cys']);
    expect(
      recordResources(read, reads)
        .map((r) => r.id)
        .sort(),
    ).toEqual(['cr', 'cys']);
    expect(Object.values(read.sources).every((s) => s === 'fhir')).toBe(true);
    expect(read.unavailable).toEqual([]);
    expect(read.failures).toEqual({});
  });

  it('takes usable prefetch as it is and reads only what prefetch lacks', async () => {
    const prefetch = {
      patient: entryOf('r1').resource,
      creatinine: searchset([]),
      conditions: { resourceType: 'OperationOutcome', issue: [] },
    };
    const read = await readRecord(reads, { patientId: 'r1' }, bundleTransport(entries, entryOf('r1'), 'r1'), {
      maxPages: 1,
      prefetch,
    });
    expect(read.sources.patient).toBe('prefetch');
    expect(read.resources.creatinine).toEqual([]);
    expect(read.sources.creatinine).toBe('prefetch');
    expect(read.sources.conditions).toBe('fhir');
    expect(read.sources.cystatinC).toBe('fhir');
  });

  it('without a transport makes what prefetch lacks unavailable, and says which kinds of context that leaves out', async () => {
    const read = await readRecord(reads, { patientId: 'r1' }, undefined, {
      maxPages: 3,
      prefetch: { patient: entryOf('r1').resource, creatinine: searchset([]), cystatinC: searchset([]) },
    });
    expect(read.sources.conditions).toBe('unavailable');
    expect(read.unavailable).toContain('conditions');
    expect(read.unavailable).not.toContain('ccr-labs');
    expect(read.fhirMs).toBeUndefined();
  });

  it('keeps the first page of a paginated prefetch, follows no next link outside the FHIR base, and marks its domains could not be checked', async () => {
    const page = {
      ...searchset([lab('cr', 'r1', 'creatinineMass', 0.8, daysAgo(now, 3))]),
      link: [{ relation: 'next', url: 'https://elsewhere.example/fhir/Observation?page=2' }],
    };
    const read = await readRecord(reads, { patientId: 'r1' }, bundleTransport(entries, entryOf('r1'), 'r1'), {
      maxPages: 3,
      prefetch: { creatinine: page },
    });
    expect(read.partial).toEqual(['creatinine']);
    expect(read.resources.creatinine?.map((r) => r.id)).toEqual(['cr']);
    expect(read.unreadable).toEqual(
      (reads.contextDomains.creatinine ?? []).map((domain) => ({
        domain,
        reference: 'prefetch key "creatinine"',
        reason: 'read in part: a next page outside the FHIR server was not followed',
      })),
    );
    expect(read.unreadable.map((u) => u.domain)).toContain('ccr-labs');
  });

  it('follows no next link to a sibling of the base path (/fhir → /fhir-admin), and sends it nothing', async () => {
    const asked: string[] = [];
    const transport = {
      base: 'https://ehr.example/fhir',
      get: async (url: URL) => {
        asked.push(url.pathname);
        return searchset([]);
      },
    };
    const page = {
      ...searchset([lab('cr', 'r1', 'creatinineMass', 0.8, daysAgo(now, 3))]),
      link: [{ relation: 'next', url: 'https://ehr.example/fhir-admin/Observation?page=2' }],
    };
    const read = await readRecord(reads, { patientId: 'r1' }, transport, {
      maxPages: 3,
      prefetch: { creatinine: page },
    });
    expect(asked.filter((p) => p.startsWith('/fhir-admin'))).toEqual([]);
    expect(read.partial).toContain('creatinine');
    expect(read.unreadable.map((u) => u.domain)).toContain('ccr-labs');
  });

  it('marks a list cut at the page limit as read in part, its domains could not be checked, never complete', async () => {
    let served = 0;
    const transport = {
      base: 'https://ehr.example/fhir',
      get: async (url: URL) => {
        served += 1;
        const n = Number(url.searchParams.get('page') ?? '1');
        return {
          ...searchset(n === 1 ? [lab(`cr${n}`, 'r1', 'creatinineMass', 0.8, daysAgo(now, n))] : []),
          link: [{ relation: 'next', url: `https://ehr.example/fhir/Observation?page=${n + 1}` }],
        };
      },
    };
    const read = await readRecord(
      { ...reads, templates: { creatinine: reads.templates.creatinine as string } },
      { patientId: 'r1' },
      transport,
      { maxPages: 4 },
    );
    expect(served).toBe(4);
    expect(read.sources.creatinine).toBe('fhir');
    expect(read.partial).toEqual(['creatinine']);
    expect(read.unreadable.map((u) => u.reason)).toContain('read in part: more than 4 pages');
    expect(read.unreadable.map((u) => u.domain)).toEqual(reads.contextDomains.creatinine);
  });

  it('a read the server answers 404 reads no patient, and is no failure', async () => {
    const read = await readRecord(reads, { patientId: 'nobody' }, bundleTransport(entries, entryOf('r1'), 'r1'), {
      maxPages: 1,
    });
    expect(read.patient).toBeUndefined();
    expect(read.resources.patient).toEqual([]);
    expect(read.failures.patient).toBeUndefined();
  });
});

describe('fhirclient’s rejections in the browser transport', () => {
  it('are classified by their type, never by their message', () => {
    expect(
      fhirclientFailure(new HttpError(new Response('', { status: 401, statusText: 'network error ECONNREFUSED' }))),
    ).toEqual({ kind: 'http', status: 401 });
    expect(fhirclientFailure(new TypeError('HTTP 500'))).toEqual({ kind: 'network' });
    expect(fhirclientFailure(new DOMException('HTTP 401', 'AbortError'))).toEqual({ kind: 'timeout' });
    expect(fhirclientFailure(new SyntaxError('Unexpected token <'))).toEqual({ kind: 'invalid-response' });
    expect(fhirclientFailure(new FhirError({ kind: 'refused', why: 'x' }))).toEqual({ kind: 'refused', why: 'x' });
  });
});

describe('Medications that orders point at', () => {
  const med = productMedication('medrol', 'Medrol 4 mg tablet', [
    { code: '259966', display: 'methylPREDNISolone 4 MG Oral Tablet' },
  ]);
  const order = medicationRequest('mr', 'r3', undefined, { referenced: med, authoredOn: daysAgo(now, 100) });
  const withMed = transaction([patient('r3', 'female', '1950-01-01'), order, med]).entry ?? [];
  const withoutMed = transaction([patient('r3', 'female', '1950-01-01'), order]).entry ?? [];
  const p3 = (es: typeof entries) => es.find((e) => e.resource?.resourceType === 'Patient') as (typeof entries)[number];
  const readWith = async (es: typeof entries) => {
    const t = bundleTransport(es, p3(es), 'r3');
    return readReferencedMedications(
      await readRecord(reads, { patientId: 'r3' }, t, { maxPages: 1 }),
      { patientId: 'r3' },
      t,
    );
  };

  it('are read by reference when no search brought them, and the medicines count as read', async () => {
    const read = await readWith(withMed);
    expect(read.resources[REFERENCED_MEDICATIONS]?.map((r) => r.id)).toEqual(['medrol']);
    expect(read.unavailable).not.toContain('medications');
  });

  it('make the medicines count as not fully read when they cannot be had, with the reason', async () => {
    const read = await readWith(withoutMed);
    expect(read.resources[REFERENCED_MEDICATIONS]).toEqual([]);
    expect(read.failures[REFERENCED_MEDICATIONS]).toEqual({ kind: 'http', status: 404 });
    expect(read.unavailable).toContain('medications');
    const offline = await readReferencedMedications(
      await readRecord(reads, { patientId: 'r3' }, bundleTransport(withoutMed, p3(withoutMed), 'r3'), { maxPages: 1 }),
      { patientId: 'r3' },
      undefined,
    );
    expect(offline.unavailable).toContain('medications');
  });

  it('are not read when contained, already read, or on another server', async () => {
    const t = bundleTransport(withMed, p3(withMed), 'r3');
    const base = await readRecord(reads, { patientId: 'r3' }, t, { maxPages: 1 });
    const elsewhere = { ...order, medicationReference: { reference: 'https://other.example/fhir/Medication/medrol' } };
    const contained = { ...order, id: 'mr2', medicationReference: { reference: '#medrol' } };
    const read = await readReferencedMedications(
      { ...base, resources: { medicationRequests: [elsewhere, contained, order, med] } },
      { patientId: 'r3' },
      t,
    );
    expect(read.resources[REFERENCED_MEDICATIONS]).toBeUndefined();
  });
});
