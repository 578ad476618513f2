import type { Bundle, MedicationRequest, Observation, Patient, Resource } from 'fhir/r4';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCodesetsSync } from '../src/config/codesets';
import { DEMO_PATIENTS } from '../src/demo/patients';
import { byMedicationReference, withEpicIds } from './fixtures/epic-shaped';
import {
  buildPrefetch,
  callLog,
  everyAnswerValid,
  expectOperationOutcome,
  expectValidCdsResponse,
  expectValidDiscovery,
  hookRequest,
  ruleIds,
  SERVICE_ID,
  searchsetOf,
  startCrosstalk,
  startFaultProxy,
} from './support/harness';

const observationCodes = (concept: string) =>
  loadCodesetsSync()
    .observations.concepts.find((c) => c.id === concept)!
    .codes.map((c) => c.code);

let ct: Awaited<ReturnType<typeof startCrosstalk>>;
let fhir: string;
const post = (body: unknown) =>
  request(ct.url)
    .post(`/cds-services/${SERVICE_ID}`)
    .set('content-type', 'application/json')
    .send(body as object)
    .expect(everyAnswerValid);

beforeAll(async () => {
  // 15 prefetch keys fall back to 15 parallel searches on the embedded server, which scans in memory: a generous
  // budget keeps a loaded CI machine from turning slow reads into 412s. The fault tests use their own short budget.
  ct = await startCrosstalk({ CROSSTALK_FHIR_TIMEOUT_MS: '10000', CROSSTALK_REQUEST_BUDGET_MS: '15000' });
  fhir = `${ct.url}/fhir`;
});
afterAll(async () => {
  await ct?.close();
});

describe('discovery', () => {
  it('lists the patient-view service with hook, id, title, description, prefetch and usageRequirements', async () => {
    const res = await request(ct.url).get('/cds-services').expect(200);
    expectValidDiscovery(res.body);
    const s = res.body.services.find((x: { id: string }) => x.id === SERVICE_ID);
    expect(s).toMatchObject({
      hook: 'patient-view',
      title: expect.any(String),
      description: expect.any(String),
      usageRequirements: expect.any(String),
    });
    expect(Object.keys(s.prefetch).sort()).toEqual([
      'bmd',
      'bmi',
      'conditions',
      'creatinine',
      'crp',
      'cystatinC',
      'dxa',
      'dxaOrders',
      'dxaReports',
      'encounters',
      'glucose',
      'insulin',
      'medicationAdministrations',
      'medicationDispenses',
      'medicationRequests',
      'medicationStatements',
      'osteoporosisTherapy',
      'patient',
      'pregnancyTests',
      'procedures',
      'thyroidLabs',
      'vitaminD',
    ]);
  });

  it('asks in its prefetch for every LOINC code the engine reads, including the code sets behind CRP, BMI, vitamin D and DXA', async () => {
    const res = await request(ct.url).get('/cds-services').expect(200);
    const templates = JSON.stringify(res.body.services.find((x: { id: string }) => x.id === SERVICE_ID).prefetch);
    const fromCodesets = ['crp', 'bmi', 'vitamin-d', 'dxa-t-score', 'dxa-report'].flatMap((c) => observationCodes(c));
    for (const code of [
      '2160-0',
      '14682-9',
      '33863-2',
      '27873-9',
      '59179-2',
      '20448-7',
      '14796-7',
      '1558-6',
      '14771-0',
      '2345-7',
      '14749-6',
      ...fromCodesets,
    ]) {
      expect(templates).toContain(`http://loinc.org|${code}`);
    }
  });
});

describe('patient-view for every demo patient', () => {
  for (const p of DEMO_PATIENTS) {
    it(`gives ${p.id} the cards [${p.expect.cards.join(', ')}] from full prefetch and from FHIR alike`, async () => {
      const prefetch = await buildPrefetch(fhir, p.id);
      const viaPrefetch = await post(hookRequest(p.id, { prefetch })).expect(200);
      expectValidCdsResponse(viaPrefetch.body);
      expect(ruleIds(viaPrefetch.body)).toEqual(p.expect.cards);

      const viaFhir = await post(
        hookRequest(p.id, {
          fhirServer: fhir,
          fhirAuthorization: {
            access_token: 'demo-token',
            token_type: 'Bearer',
            expires_in: 300,
            scope: 'patient/Observation.read',
            subject: 'crosstalk',
          },
        }),
      ).expect(200);
      expectValidCdsResponse(viaFhir.body);
      const strip = (b: { cards: object[] }) => JSON.stringify(b.cards).replace(/"uuid":"[^"]+"/g, '');
      expect(strip(viaFhir.body)).toEqual(strip(viaPrefetch.body));
    });
  }

  it('reports unrounded measures with their source Observations on the low-CCR card', async () => {
    const res = await post(hookRequest('demo-low-ccr', { fhirServer: fhir })).expect(200);
    const card = res.body.cards[0];
    const ccr = card.extension.crosstalk.measures.find((m: { code: string }) => m.code === 'ccr');
    expect(ccr).toMatchObject({
      code: 'ccr',
      value: 0.6,
      unit: '(mg/dL)/(mg/L)',
      derivedFrom: ['Observation/demo-low-ccr-cr', 'Observation/demo-low-ccr-cys'],
    });
    expect(card.extension.crosstalk.measures.map((m: { code: string }) => m.code)).toEqual([
      'sarcopenia-index',
      'ccr',
      'egfr-cr-2021',
      'egfr-cr-cys-2021',
      'egfr-cys-2012',
    ]);
    expect(card.detail).toContain('Advisory, not a diagnosis');
    // The threshold's status in one clause on the card; the explanation and the HOMA context travel for the app.
    expect(card.detail).toContain('(provisional, not validated)');
    expect(card.extension.crosstalk.context.join(' ')).toMatch(/HOMA-IR 3\.70/);
    expect(card.extension.crosstalk.caveats.join(' ')).toMatch(/threshold is provisional/i);
    expect(card.source.url).toMatch(/^https:\/\//);
    expect(card.overrideReasons.every((r: { display?: string }) => !!r.display)).toBe(true);
  });

  it('suggests ordering cystatin C as a ServiceRequest when only creatinine is on file', async () => {
    const res = await post(hookRequest('demo-missing-cystatin', { fhirServer: fhir })).expect(200);
    const card = res.body.cards[0];
    expect(card.selectionBehavior).toBe('at-most-one');
    const action = card.suggestions[0].actions[0];
    expect(action).toMatchObject({
      type: 'create',
      resource: {
        resourceType: 'ServiceRequest',
        status: 'draft',
        intent: 'proposal',
        subject: { reference: 'Patient/demo-missing-cystatin' },
      },
    });
    expect(action.resource.code.coding[0]).toMatchObject({ system: 'http://loinc.org', code: '33863-2' });
    expect(action.resource.requester).toEqual({ reference: 'Practitioner/demo-clinician' });
  });

  it('answers a patient with no labs with an empty card list', async () => {
    const res = await post(hookRequest('demo-no-labs', { fhirServer: fhir })).expect(200);
    expect(res.body).toEqual({ cards: [] });
  });
});

describe('patient-view on a record that closes advice', () => {
  const withCards = DEMO_PATIENTS.find((p) => p.expect.cards.length > 0)!;
  it('gives no card for a Patient with deceasedDateTime, or one replaced by another record (deceasedBoolean, deceasedDateTime, link replaced-by)', async () => {
    const prefetch = await buildPrefetch(fhir, withCards.id);
    expect(ruleIds((await post(hookRequest(withCards.id, { prefetch })).expect(200)).body)).toEqual(
      withCards.expect.cards,
    );
    const patient = prefetch.patient as Patient;
    for (const closed of [
      { ...patient, deceasedDateTime: '1994-11-11T22:58:16-05:00' },
      { ...patient, deceasedBoolean: true },
      { ...patient, link: [{ type: 'replaced-by' as const, other: { reference: 'Patient/merged-into' } }] },
    ]) {
      const res = await post(hookRequest(withCards.id, { prefetch: { ...prefetch, patient: closed } })).expect(200);
      expect(res.body).toEqual({ cards: [] });
    }
  });
});

describe('prefetch in its four states', () => {
  it('treats null search keys as "no data" and calls no FHIR server', async () => {
    const proxy = await startFaultProxy(fhir);
    try {
      const prefetch = {
        ...(await buildPrefetch(fhir, 'demo-low-ccr')),
        creatinine: null,
        cystatinC: null,
        insulin: null,
        glucose: null,
      };
      const res = await post(hookRequest('demo-low-ccr', { prefetch, fhirServer: proxy.fhirBase })).expect(200);
      expect(res.body).toEqual({ cards: [] });
      expect(proxy.requests).toHaveLength(0);
    } finally {
      await proxy.close();
    }
  });

  it('fetches only the keys that are absent or carry an OperationOutcome, in parallel from fhirServer', async () => {
    const proxy = await startFaultProxy(fhir);
    try {
      const full = await buildPrefetch(fhir, 'demo-low-ccr');
      const { cystatinC: _absent, ...rest } = full;
      const prefetch = {
        ...rest,
        creatinine: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'timeout' }] },
      };
      const res = await post(
        hookRequest('demo-low-ccr', {
          prefetch,
          fhirServer: proxy.fhirBase,
          fhirAuthorization: { access_token: 'tok-123', token_type: 'Bearer' },
        }),
      ).expect(200);
      expectValidCdsResponse(res.body);
      expect(ruleIds(res.body)).toEqual(['low-ccr']);
      expect(proxy.requests.map((r) => decodeURIComponent(r.url)).sort()).toEqual([
        expect.stringContaining('code=http://loinc.org|2160-0'),
        expect.stringContaining('code=http://loinc.org|33863-2'),
      ]);
      expect(proxy.requests.every((r) => r.authorization === 'Bearer tok-123')).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('follows the next link of a paginated prefetch Bundle on fhirServer', async () => {
    const full = await buildPrefetch(fhir, 'demo-low-ccr');
    const cys = (full.cystatinC as Bundle).entry!.map((e) => e.resource as Observation);
    const proxy = await startFaultProxy(fhir);
    try {
      // Page 1 holds the old cystatin C only; the same-draw one is on page 2, reached through `next`.
      const next = `${proxy.fhirBase}/Observation?patient=demo-low-ccr&code=http://loinc.org|33863-2&_sort=-date&_count=1`;
      const prefetch = {
        ...full,
        cystatinC: searchsetOf(
          cys.filter((o) => o.id === 'demo-low-ccr-cys-old'),
          next,
        ),
      };
      const res = await post(hookRequest('demo-low-ccr', { prefetch, fhirServer: proxy.fhirBase })).expect(200);
      expect(ruleIds(res.body)).toEqual(['low-ccr']);
      expect(proxy.requests.length).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.close();
    }
  });

  it('does not follow a next link that leaves fhirServer, and never sends the token there', async () => {
    const elsewhere = await startFaultProxy(fhir);
    const proxy = await startFaultProxy(fhir);
    try {
      const full = await buildPrefetch(fhir, 'demo-low-ccr');
      const prefetch = { ...full, cystatinC: searchsetOf([], `${elsewhere.fhirBase}/Observation?code=33863-2`) };
      const res = await post(
        hookRequest('demo-low-ccr', {
          prefetch,
          fhirServer: proxy.fhirBase,
          fhirAuthorization: { access_token: 'secret-tok', token_type: 'Bearer' },
        }),
      ).expect(200);
      expectValidCdsResponse(res.body);
      expect(elsewhere.requests).toHaveLength(0);
    } finally {
      await elsewhere.close();
      await proxy.close();
    }
  });

  it('answers 412 with an OperationOutcome when data is missing and there is no fhirServer', async () => {
    const res = await post(hookRequest('demo-low-ccr')).expect(412);
    expectOperationOutcome(res.body);
    expect(res.headers['content-type']).toContain('application/fhir+json');
  });
});

describe('FHIR faults', () => {
  let quick: Awaited<ReturnType<typeof startCrosstalk>>;
  beforeAll(async () => {
    quick = await startCrosstalk({
      CROSSTALK_FHIR_TIMEOUT_MS: '800',
      CROSSTALK_EMBEDDED_FHIR: 'false',
    });
  });
  afterAll(async () => {
    await quick?.close();
  });
  const cases: [string, 'hang' | { status: number }, string][] = [
    ['401', { status: 401 }, 'security'],
    ['500', { status: 500 }, 'transient'],
    ['a hang past the time budget', 'hang', 'timeout'],
  ];
  for (const [name, fault, code] of cases) {
    it(`answers 412 (${code}) when the FHIR server gives ${name}, without leaking the token`, async () => {
      const proxy = await startFaultProxy(fhir, () => fault);
      try {
        const t0 = Date.now();
        const res = await request(quick.url)
          .post(`/cds-services/${SERVICE_ID}`)
          .set('content-type', 'application/json')
          .send(
            hookRequest('demo-low-ccr', {
              fhirServer: proxy.fhirBase,
              fhirAuthorization: { access_token: 'leak-me-not', token_type: 'Bearer' },
            }),
          )
          .expect(412);
        expect(Date.now() - t0).toBeLessThan(5000);
        expectOperationOutcome(res.body);
        expect(res.body.issue.map((i: { code: string }) => i.code)).toContain(code);
        expect(JSON.stringify(res.body)).not.toContain('leak-me-not');
        expect(quick.logs.text).not.toContain('leak-me-not');
      } finally {
        await proxy.close();
      }
    });
  }
});

describe('records as EHRs send them, judged one resource at a time', () => {
  /** demo-steroid (prednisone 7.5 mg daily for 5 months, low CCR) as full prefetch, changed by `edit`. */
  async function steroidCall(edit: (prefetch: Record<string, Resource>) => Record<string, Resource>) {
    const body = hookRequest('demo-steroid', { prefetch: edit(await buildPrefetch(fhir, 'demo-steroid')) });
    const res = await post(body).expect(200);
    return { res, log: callLog(ct.logs, body.hookInstance as string) };
  }
  const editOrders = (prefetch: Record<string, Resource>, change: (mr: MedicationRequest) => void) => {
    const b = structuredClone(prefetch.medicationRequests) as Bundle;
    for (const e of b.entry ?? [])
      if (e.resource?.resourceType === 'MedicationRequest') change(e.resource as MedicationRequest);
    return { ...prefetch, medicationRequests: b };
  };

  it('reads Epic-shaped records: 150-character ids everywhere and the prednisone by reference to a Medication give the glucocorticoid warning and no low-CCR card', async () => {
    const prefetch = await buildPrefetch(fhir, 'demo-steroid');
    const { data, ids } = withEpicIds(
      {
        ...prefetch,
        medicationRequests: byMedicationReference(
          prefetch.medicationRequests as Resource,
          (i) => `demo-steroid-med${i}`,
        ),
      },
      'demo-steroid',
    );
    const patientId = ids.get('demo-steroid') as string;
    expect(patientId).toHaveLength(150);
    const mr = (data.medicationRequests as Bundle).entry?.find((e) => e.resource?.resourceType === 'MedicationRequest')
      ?.resource as MedicationRequest;
    expect(mr.medicationReference?.reference).toMatch(/^Medication\/e\d\.[A-Za-z0-9.-]{147}$/);
    expect(mr.id).toHaveLength(150);
    const body = hookRequest(patientId, { prefetch: data });
    const res = await post(body).expect(200);
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    const log = callLog(ct.logs, body.hookInstance as string);
    expect((log.why as Record<string, string[]>)['low-ccr']).toContain('glucocorticoid');
    expect(log.malformed).toBeUndefined();
  });

  it('tolerates a malformed element no rule reads (MedicationRequest.category as one object, reasonCode as one object)', async () => {
    const { res, log } = await steroidCall((p) =>
      editOrders(p, (mr) => {
        Object.assign(mr, {
          category: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category', code: 'community' }],
          },
          reasonCode: { text: 'polymyalgia' },
        });
      }),
    );
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    expect(log.malformed).toBeUndefined();
  });

  it('accepts a lone coding or dosage where FHIR wants an array, as the one-element array it means', async () => {
    const { res, log } = await steroidCall((p) =>
      editOrders(p, (mr) => {
        const m = mr as unknown as Record<string, unknown>;
        m.medicationCodeableConcept = {
          ...mr.medicationCodeableConcept,
          coding: mr.medicationCodeableConcept?.coding?.[0],
        };
        m.dosageInstruction = mr.dosageInstruction?.[0];
      }),
    );
    expect(ruleIds(res.body)).toEqual(['glucocorticoid-bone']);
    expect(log.malformed).toBeUndefined();
  });

  it('sets aside a prednisone order whose dose the rules cannot read: the medicines could not be checked, so no low-CCR card and no 400', async () => {
    const { res, log } = await steroidCall((p) =>
      editOrders(p, (mr) => {
        const dose = mr.dosageInstruction?.[0]?.doseAndRate?.[0]?.doseQuantity as unknown as Record<string, unknown>;
        dose.value = '7.5'; // a number as a string: not guessed at
      }),
    );
    expectValidCdsResponse(res.body);
    expect(ruleIds(res.body)).not.toContain('low-ccr');
    expect(ruleIds(res.body)).not.toContain('glucocorticoid-bone');
    const why = log.why as Record<string, string[]>;
    expect(why['glucocorticoid-bone']).toEqual(['context-unavailable']);
    expect(why['low-ccr']).toContain('context-unavailable');
    expect(log.malformed).toBe(1);
    expect(log.unreadable).toEqual(['medications', 'osteoporosis-therapy']);
  });

  it('sets aside a creatinine result it cannot read: the low-CCR card is not shown from the other results', async () => {
    const lowCcr = await buildPrefetch(fhir, 'demo-low-ccr');
    const b = structuredClone(lowCcr.creatinine) as Bundle;
    const obs = b.entry?.find((e) => e.resource?.resourceType === 'Observation')?.resource as Observation;
    (obs as unknown as Record<string, unknown>).valueQuantity = { value: 0.5, unit: 'mg/dL', code: ['mg/dL'] };
    const body = hookRequest('demo-low-ccr', { prefetch: { ...lowCcr, creatinine: b } });
    const res = await post(body).expect(200);
    expect(ruleIds(res.body)).not.toContain('low-ccr');
    const log = callLog(ct.logs, body.hookInstance as string);
    expect((log.why as Record<string, string[]>)['low-ccr']).toContain('labs-unreadable');
    expect(log.unreadable).toEqual(['ccr-labs']);
  });
});

describe('request validation', () => {
  it('rejects a body without hookInstance or context with 400 and an OperationOutcome', async () => {
    const res = await post({ hook: 'patient-view' }).expect(400);
    expectOperationOutcome(res.body);
  });

  it('rejects malformed JSON with 400 and an OperationOutcome', async () => {
    const res = await request(ct.url)
      .post(`/cds-services/${SERVICE_ID}`)
      .set('content-type', 'application/json')
      .send('{"hook":')
      .expect(400);
    expectOperationOutcome(res.body);
  });

  it('rejects a patientId that is not a FHIR id, so it cannot rewrite the FHIR query', async () => {
    const res = await post(hookRequest('x&code=1234-5', { fhirServer: fhir })).expect(400);
    expectOperationOutcome(res.body);
  });

  it('rejects a call for another hook', async () => {
    await post({ ...hookRequest('demo-low-ccr', { fhirServer: fhir }), hook: 'order-sign' }).expect(400);
  });

  it('tolerates unknown extension members', async () => {
    const res = await post(
      hookRequest('demo-low-ccr', { fhirServer: fhir, extension: { 'com.example.anything': { deep: [1, 2] } } }),
    ).expect(200);
    expectValidCdsResponse(res.body);
  });

  it('answers an unknown service with 404 and an OperationOutcome', async () => {
    const res = await request(ct.url)
      .post('/cds-services/no-such-service')
      .send(hookRequest('demo-low-ccr'))
      .expect(404);
    expectOperationOutcome(res.body);
  });

  it('answers a non-JSON body with 415', async () => {
    await request(ct.url)
      .post(`/cds-services/${SERVICE_ID}`)
      .set('content-type', 'text/plain')
      .send('hello')
      .expect(415);
  });
});

describe('logs', () => {
  it('never hold the access token or a patient id', () => {
    expect(ct.logs.lines.length).toBeGreaterThan(10);
    expect(ct.logs.text).not.toMatch(/tok-123|secret-tok|demo-token|leak-me-not/);
    for (const p of DEMO_PATIENTS) expect(ct.logs.text).not.toContain(p.id);
  });
});

describe('an EHR registered with an older prefetch, calling without fhirServer', () => {
  // The keys this service had before administrations, dispenses, BMD, procedures, encounters, thyroid results and
  // pregnancy tests were added: what such an EHR still sends.
  const OLDER = [
    'patient',
    'creatinine',
    'cystatinC',
    'insulin',
    'glucose',
    'medicationRequests',
    'medicationStatements',
    'osteoporosisTherapy',
    'conditions',
    'dxa',
    'dxaReports',
    'dxaOrders',
    'crp',
    'bmi',
    'vitaminD',
  ];
  const older = async (patientId: string) => {
    const full = await buildPrefetch(fhir, patientId);
    return Object.fromEntries(Object.entries(full).filter(([k]) => OLDER.includes(k)));
  };

  it('shows the low-CCR card and names the thyroid results and pregnancy tests it could not check', async () => {
    const prefetch = await older('demo-low-ccr');
    expect(Object.keys(prefetch).sort()).toEqual([...OLDER].sort());
    const res = await post(hookRequest('demo-low-ccr', { prefetch })).expect(200);
    expect(ruleIds(res.body)).toContain('low-ccr');
    const card = res.body.cards.find(
      (c: { extension: { crosstalk: { ruleId: string } } }) => c.extension.crosstalk.ruleId === 'low-ccr',
    );
    expect(card.detail).toMatch(/Could not check TSH and free T4 results/);
    expect(card.detail).toMatch(/pregnancy status and pregnancy test results/);
  });

  it('still stays quiet when the problem list is missing too: its confounders were not checked', async () => {
    const { conditions: _missing, ...prefetch } = await older('demo-low-ccr');
    const res = await post(hookRequest('demo-low-ccr', { prefetch })).expect(200);
    expect(ruleIds(res.body)).not.toContain('low-ccr');
  });
});
