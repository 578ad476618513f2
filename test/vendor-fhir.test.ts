import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import patientView from '../cds-hooks/services/bone-muscle-patient-view.json';
import { DEMO_PATIENTS } from '../src/demo/patients';
import { everyAnswerValid, hookRequest, SERVICE_ID, startCrosstalk, startFaultProxy } from './support/harness';
import { sample } from './support/prometheus';
import { spawnVendorFhir, type VendorFhir } from './support/vendor-fhir-server';

/*
 * FHIR servers that refuse what vendors' FHIR APIs refuse, each in a process of its own and seeded with the demo
 * patients: an Epic-like one (no `_include`, no `code` on MedicationRequest) and an Oracle-like one (no `_sort`,
 * no MedicationStatement endpoint). Crosstalk reads each with no prefetch, as its fallback, and must say what it
 * says when the same patients are read from the lenient embedded server: the search ladder does locally what the
 * server would not, and remembers what each server took.
 */

const MAX_CALL_BYTES = 4 * 1024 * 1024;
let ct: Awaited<ReturnType<typeof startCrosstalk>>;
let lenient: VendorFhir;
let epic: VendorFhir;
let oracle: VendorFhir;

const call = (patientId: string, fhirServer: string) =>
  request(ct.url)
    .post(`/cds-services/${SERVICE_ID}`)
    .set('content-type', 'application/json')
    .send(hookRequest(patientId, { fhirServer }))
    .expect(everyAnswerValid);

type Card = { summary: string; indicator: string; extension: { crosstalk: { ruleId: string } } };
/** What a clinician sees of the cards: which rules, how urgent, and their headline. */
const seen = (body: { cards: Card[] }) =>
  body.cards.map((c) => `${c.extension.crosstalk.ruleId} | ${c.indicator} | ${c.summary}`).sort();

type CallLine = {
  event?: string;
  hookInstance?: string;
  fallbacks?: Record<string, string>;
  sources?: Record<string, string>;
  failures?: Record<string, string>;
  fhirBytes?: number;
};
const callLine = (hookInstance: string): CallLine | undefined =>
  ct.logs.lines
    .map((l) => JSON.parse(l) as CallLine)
    .find((l) => l.event === 'cds-call' && l.hookInstance === hookInstance);

async function cardsFrom(patientId: string, fhirServer: string) {
  const body = hookRequest(patientId, { fhirServer });
  const res = await request(ct.url)
    .post(`/cds-services/${SERVICE_ID}`)
    .set('content-type', 'application/json')
    .send(body)
    .expect(everyAnswerValid)
    .expect(200);
  return { cards: seen(res.body), line: callLine(body.hookInstance as string) };
}

const holds = (p: (typeof DEMO_PATIENTS)[number], type: string) =>
  p.resources(new Date()).some((r) => r.resourceType === type);

beforeAll(async () => {
  [lenient, epic, oracle] = await Promise.all([
    spawnVendorFhir('lenient'),
    spawnVendorFhir('epic'),
    spawnVendorFhir('oracle'),
  ]);
  ct = await startCrosstalk({
    CROSSTALK_EMBEDDED_FHIR: 'false',
    CROSSTALK_FHIR_TIMEOUT_MS: '20000',
    CROSSTALK_REQUEST_BUDGET_MS: '30000',
    CROSSTALK_FHIR_MAX_RESPONSE_BYTES: '1mb',
    CROSSTALK_FHIR_MAX_CALL_BYTES: '4mb',
  });
}, 240_000);

afterAll(async () => {
  await ct?.close();
  await Promise.all([lenient, epic, oracle].map((s) => s?.close()));
});

describe('an Epic-like FHIR server (no _include, no code search on MedicationRequest)', () => {
  it('is answered, on the first call, with the rejected searches asked again in simpler forms', async () => {
    await epic.requests();
    const { line } = await cardsFrom('demo-steroid-young', epic.fhirBase);
    const asked = await epic.requests();
    expect(asked.filter((r) => r.status === 400).length).toBeGreaterThan(0);
    expect(line?.fallbacks).toMatchObject({
      medicationRequests: expect.stringContaining('no-include'),
      medicationStatements: expect.stringContaining('no-include'),
      osteoporosisTherapy: expect.stringContaining('no-code'),
    });
    // The Medication the order points at, no longer included, is read by reference.
    expect(asked.some((r) => /\/Medication\/demo-steroid-young-medrol$/.test(r.url) && r.status === 200)).toBe(true);
    expect(line?.fhirBytes).toBeLessThanOrEqual(MAX_CALL_BYTES);
  });

  it('gives every demo patient the cards the lenient server gives, and sends no rejected search again', async () => {
    await cardsFrom('demo-low-ccr', epic.fhirBase); // the server's support is learned here, if not already
    await epic.requests();
    for (const p of DEMO_PATIENTS) {
      const [want, got] = await Promise.all([cardsFrom(p.id, lenient.fhirBase), cardsFrom(p.id, epic.fhirBase)]);
      expect(got.cards, p.id).toEqual(want.cards);
    }
    expect((await epic.requests()).filter((r) => r.status >= 400)).toEqual([]);
  }, 300_000);
});

describe('an Oracle-like FHIR server (no _sort, no MedicationStatement endpoint)', () => {
  it('reads medicines without the missing endpoint: its key is unavailable, the call is answered, not a 412', async () => {
    await oracle.requests();
    const { line } = await cardsFrom('demo-steroid', oracle.fhirBase);
    expect(line?.fallbacks?.medicationStatements).toBe('missing-endpoint');
    expect(line?.sources?.medicationStatements).toBe('unavailable');
    expect(line?.failures?.medicationStatements).toBe('http_404');
    expect(line?.fallbacks?.creatinine).toBe('no-sort');
    // The second call asks for no MedicationStatement at all, and no search with _sort.
    await oracle.requests();
    await cardsFrom('demo-steroid', oracle.fhirBase);
    const second = await oracle.requests();
    expect(second.length).toBeGreaterThan(10);
    expect(second.filter((r) => r.status >= 400 || /MedicationStatement|_sort/.test(r.url))).toEqual([]);
  });

  it('gives the cards the lenient server gives to every demo patient whose medicines are not statements', async () => {
    await cardsFrom('demo-low-ccr', oracle.fhirBase);
    await oracle.requests();
    const compared = DEMO_PATIENTS.filter((p) => !holds(p, 'MedicationStatement'));
    expect(compared.length).toBeGreaterThan(10);
    for (const p of compared) {
      const [want, got] = await Promise.all([cardsFrom(p.id, lenient.fhirBase), cardsFrom(p.id, oracle.fhirBase)]);
      expect(got.cards, p.id).toEqual(want.cards);
    }
    expect((await oracle.requests()).filter((r) => r.status >= 400)).toEqual([]);
  }, 300_000);

  it('still refuses with 412 when a required key cannot be read at all', async () => {
    // A required lab key on a server with no Observation endpoint: nothing simpler can be asked.
    const noLabs = await startFaultProxy(lenient.fhirBase, (req) =>
      /\/Observation\?/.test(req.url ?? '') ? { status: 404 } : 'pass',
    );
    try {
      const res = await call('demo-low-ccr', noLabs.fhirBase).expect(412);
      const issues = res.body.issue as { code: string; details: { text: string } }[];
      expect(issues.map((i) => i.details.text)).toContain('fhirServer answered HTTP 404 when reading "creatinine"');
      expect(issues.map((i) => i.code)).toContain('not-supported');
      // Asked as written, then in its plainest form to be sure the endpoint is missing; then remembered as such.
      const observationSearches = noLabs.requests.filter((r) => r.url.includes('/Observation?'));
      const observationKeys = Object.values(patientView.discovery.prefetch).filter((t) => t.startsWith('Observation?'));
      expect(observationSearches.length).toBeLessThanOrEqual(2 * observationKeys.length);
    } finally {
      await noLabs.close();
    }
  });
});

describe('the fallback in the metrics', () => {
  it('counts each key read in a simpler form by the steps taken', async () => {
    const metrics = (await request(ct.url).get('/metrics').expect(200)).text;
    expect(sample(metrics, 'crosstalk_fhir_search_fallbacks_total', { fallback: 'no-sort' })).toBeGreaterThan(0);
    expect(sample(metrics, 'crosstalk_fhir_search_fallbacks_total', { fallback: 'missing-endpoint' })).toBeGreaterThan(
      0,
    );
  });
});

describe("an Epic-like FHIR server with Epic's data: 150-character ids and the SNOMED CT oral route 260548002", () => {
  let epicData: VendorFhir;
  beforeAll(async () => {
    epicData = await spawnVendorFhir('epic', { data: true });
  }, 240_000);
  afterAll(async () => {
    await epicData?.close();
  });

  // demo-aromatase's letrozole is a contained Medication: with its id lengthened and its `#id` reference left
  // short the order named nothing, and was read as no medicine. Both now agree, and an order whose medicine cannot
  // be identified makes the medicines "could not be checked" (src/clinical/medication-resources.test.ts).
  it('gives every demo patient the cards the lenient server gives', async () => {
    for (const p of DEMO_PATIENTS) {
      const [want, got] = await Promise.all([cardsFrom(p.id, lenient.fhirBase), cardsFrom(p.id, epicData.fhirBase)]);
      expect(got.cards, p.id).toEqual(want.cards);
    }
  }, 300_000);
});
