import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, MedicationRequest } from 'fhir/r4';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCrosstalk } from './support/child';
import { freshPostgresDatabase } from './support/databases';
import {
  everyAnswerValid,
  expectValidCdsResponse,
  hookRequest,
  ruleIds,
  startCrosstalk,
  startFaultProxy,
} from './support/harness';
import { sample } from './support/prometheus';

/*
 * Silent mode and pilot cohorts on all three hooks, through the real service over HTTP with its real store. The
 * oracle for "withheld exactly" is the same service with the rule switched off (`enabled: false`), for rules no
 * other rule reads the switch of: a silent rule's response must be that one, uuids aside.
 */

const PV = 'bone-muscle-patient-view';
const SIGN = 'bone-muscle-order-sign';
const SELECT = 'bone-muscle-order-select';
const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const UCUM = 'http://unitsofmeasure.org';

type Body = {
  cards: {
    uuid: string;
    suggestions?: { uuid: string }[];
    extension: { crosstalk: { ruleId: string; context: string[] } };
  }[];
};

/** A response with its per-call uuids blanked: two calls on the same record and configuration say the same. */
function normalised(body: Body): unknown {
  return body.cards.map((c) => ({
    ...c,
    uuid: '-',
    ...(c.suggestions ? { suggestions: c.suggestions.map((s) => ({ ...s, uuid: '-' })) } : {}),
  }));
}

/** Prednisone 10 mg daily, 30-day supply with 3 refills: a course over 3 months, so glucocorticoid-bone fires. */
function prednisone(id: string, patientId: string): Bundle {
  const order: MedicationRequest = {
    resourceType: 'MedicationRequest',
    id,
    status: 'draft',
    intent: 'order',
    medicationCodeableConcept: {
      coding: [
        { system: RX, code: '312617', display: 'predniSONE 5 MG Oral Tablet' },
        { system: RX, code: '8640', display: 'prednisone' },
      ],
      text: 'predniSONE 10 mg',
    },
    subject: { reference: `Patient/${patientId}` },
    dosageInstruction: [
      {
        timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } },
        doseAndRate: [{ doseQuantity: { value: 10, unit: 'mg', system: UCUM, code: 'mg' } }],
      },
    ],
    dispenseRequest: {
      numberOfRepeatsAllowed: 3,
      expectedSupplyDuration: { value: 30, unit: 'days', system: UCUM, code: 'd' },
    },
  };
  return { resourceType: 'Bundle', type: 'collection', entry: [{ resource: order }] };
}

/** The share of patients a pilot fraction must exceed to take this patient, as the README documents the draw. */
function share(key: string, patientId: string): number {
  return (
    createHmac('sha256', key).update(`crosstalk-pilot\u0000Patient/${patientId}`).digest().readUIntBE(0, 6) / 2 ** 48
  );
}

const PILOT_KEY = randomBytes(24).toString('hex');

const stores: { name: string; env: () => Promise<{ env: Record<string, string>; drop: () => Promise<void> }> }[] = [
  { name: 'SQLite', env: async () => ({ env: {}, drop: async () => undefined }) },
  {
    name: 'PostgreSQL',
    env: async () => {
      const db = await freshPostgresDatabase();
      return { env: { DATABASE_URL: db.url }, drop: db.drop };
    },
  },
];

describe.each(stores)('rule modes over HTTP, audited in $name', (store) => {
  let ct: Awaited<ReturnType<typeof startCrosstalk>>;
  let drop: () => Promise<void>;
  let fhir: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-modes-'));
  const siteFile = path.join(dir, 'site.json');
  const since = new Date(Date.now() - 3_600_000);

  /** Writes the site file and reloads it, as SIGHUP does. */
  const configure = (rules: Record<string, object>) => {
    fs.writeFileSync(siteFile, JSON.stringify({ rules }));
    expect(ct.reload()).toBe(true);
  };
  const post = async (service: string, body: object): Promise<Body> => {
    const res = await request(ct.url)
      .post(`/cds-services/${service}`)
      .set('content-type', 'application/json')
      .send(body)
      .expect(everyAnswerValid);
    expect(res.status).toBe(200);
    expectValidCdsResponse(res.body);
    return res.body as Body;
  };
  const pv = (patientId: string, context: Record<string, string> = {}) => {
    const body = hookRequest(patientId, { fhirServer: fhir }) as { context: Record<string, string> };
    return { ...body, context: { ...body.context, ...context } };
  };
  const sign = (patientId: string, userId = 'Practitioner/demo-clinician') => ({
    hook: 'order-sign',
    hookInstance: randomUUID(),
    fhirServer: fhir,
    context: { userId, patientId, draftOrders: prednisone('rx-1', patientId) },
  });
  const select = (patientId: string, userId = 'Practitioner/demo-clinician') => ({
    hook: 'order-select',
    hookInstance: randomUUID(),
    fhirServer: fhir,
    context: { userId, patientId, selections: ['MedicationRequest/rx-1'], draftOrders: prednisone('rx-1', patientId) },
  });
  const metrics = async () => (await request(ct.url).get('/metrics').expect(200)).text;
  const report = async (ruleId: string) => {
    const r = await ct.store.report({ from: since, to: new Date(Date.now() + 3_600_000), interval: 'all' });
    return r.rules.find((x) => x.ruleId === ruleId);
  };

  /**
   * The response with the rule in `mode` equals the one with the rule switched off, and differs from the one with it
   * active; the withheld card is audited as would-have-shown and counted by rule and mode; the clinician-facing card
   * counter does not move.
   */
  async function expectWithheld(o: {
    service: string;
    body: () => object;
    ruleId: string;
    mode: object | string;
    delivery: 'silent' | 'pilot-out';
  }) {
    configure({ [o.ruleId]: { enabled: false } });
    const without = await post(o.service, o.body());
    configure({});
    const active = await post(o.service, o.body());
    configure({ [o.ruleId]: { mode: o.mode } });
    const [m0, r0] = [await metrics(), await report(o.ruleId)];
    const withheld = await post(o.service, o.body());
    const [m1, r1] = [await metrics(), await report(o.ruleId)];

    expect(normalised(withheld)).toEqual(normalised(without));
    expect(normalised(withheld)).not.toEqual(normalised(active));
    expect(ruleIds(withheld)).not.toContain(o.ruleId);
    expect((r1?.wouldHaveShown ?? 0) - (r0?.wouldHaveShown ?? 0)).toBe(1);
    expect((r1?.callsByMode[o.delivery] ?? 0) - (r0?.callsByMode[o.delivery] ?? 0)).toBe(1);
    expect(r1?.fired).toBe(r0?.fired);
    const fired = (m: string) =>
      sample(m, 'crosstalk_rule_fired_total', { service: o.service, rule: o.ruleId, mode: o.delivery });
    expect(fired(m1) - fired(m0)).toBe(1);
    const shown = (m: string) => sample(m, 'crosstalk_cards_total', { service: o.service, rule: o.ruleId });
    expect(shown(m1)).toBe(shown(m0));
    return { withheld, active, without };
  }

  beforeAll(async () => {
    const s = await store.env();
    drop = s.drop;
    fs.writeFileSync(siteFile, JSON.stringify({ rules: { 'low-ccr': { mode: 'silent' } } }));
    ct = await startCrosstalk({
      ...s.env,
      CROSSTALK_SITE_KNOWLEDGE: siteFile,
      CROSSTALK_PILOT_KEY: PILOT_KEY,
      CROSSTALK_SMART_APP: 'true',
      CROSSTALK_FHIR_TIMEOUT_MS: '10000',
      CROSSTALK_REQUEST_BUDGET_MS: '15000',
    });
    fhir = `${ct.url}/fhir`;
  });
  afterAll(async () => {
    await ct?.close();
    await drop?.();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('says at start which rules are not active, in the log and in /metrics', async () => {
    expect(ct.logs.text).toMatch(/rules NOT active \(cards withheld for some or all calls\): low-ccr/);
    // The configuration of the moment: whatever a test before this one left, start-up said low-ccr was silent.
    configure({
      'low-ccr': { mode: 'silent' },
      'homa-context': { mode: { pilot: { practitioners: ['Practitioner/p1'] } } },
    });
    const m = await metrics();
    expect(sample(m, 'crosstalk_rule_mode', { rule: 'low-ccr', mode: 'silent' })).toBe(1);
    expect(sample(m, 'crosstalk_rule_mode', { rule: 'homa-context', mode: 'pilot' })).toBe(1);
    expect(sample(m, 'crosstalk_rule_mode', { rule: 'secondary-osteoporosis', mode: 'active' })).toBe(1);
    expect(ct.logs.text).toMatch(/"rules":\{"low-ccr":"silent","homa-context":"pilot: 1 practitioner\(s\)"\}/);
  });

  it('patient-view: a silent rule that would supersede an active one leaves the active card exactly as without it', async () => {
    const { withheld, active } = await expectWithheld({
      service: PV,
      body: () => pv('demo-ra'),
      ruleId: 'secondary-osteoporosis',
      mode: 'silent',
      delivery: 'silent',
    });
    expect(ruleIds(active)).toEqual(['secondary-osteoporosis']);
    expect(ruleIds(withheld)).toEqual(['low-ccr']);
  });

  it('patient-view: a silent context rule adds no line to an active card', async () => {
    configure({});
    const active = await post(PV, pv('demo-ra'));
    configure({ 'vitamin-d-context': { mode: 'silent' } });
    const silent = await post(PV, pv('demo-ra'));
    configure({ 'vitamin-d-context': { enabled: false } });
    const without = await post(PV, pv('demo-ra'));
    expect(normalised(silent)).toEqual(normalised(without));
    expect(active.cards[0]?.extension.crosstalk.context.length).toBeGreaterThan(
      silent.cards[0]?.extension.crosstalk.context.length ?? 0,
    );
  });

  it('order-sign: a silent rule is evaluated, audited and counted, and its card withheld', async () => {
    const { active } = await expectWithheld({
      service: SIGN,
      body: () => sign('demo-no-labs'),
      ruleId: 'glucocorticoid-bone',
      mode: 'silent',
      delivery: 'silent',
    });
    expect(ruleIds(active)).toEqual(['glucocorticoid-bone']);
  });

  it('order-select: a pilot shows its card to the listed practitioner and withholds it from the others', async () => {
    const mode = { pilot: { practitioners: ['Practitioner/pilot-doc'] } };
    await expectWithheld({
      service: SELECT,
      body: () => select('demo-no-labs'),
      ruleId: 'glucocorticoid-bone',
      mode,
      delivery: 'pilot-out',
    });
    const before = await report('glucocorticoid-bone');
    const inPilot = await post(SELECT, select('demo-no-labs', 'Practitioner/pilot-doc'));
    expect(ruleIds(inPilot)).toEqual(['glucocorticoid-bone']);
    const after = await report('glucocorticoid-bone');
    expect((after?.fired ?? 0) - (before?.fired ?? 0)).toBe(1);
    expect((after?.callsByMode['pilot-in'] ?? 0) - (before?.callsByMode['pilot-in'] ?? 0)).toBe(1);
  });

  it('order-sign: a pilot by practitioner withholds the card outside the pilot', async () => {
    await expectWithheld({
      service: SIGN,
      body: () => sign('demo-no-labs'),
      ruleId: 'glucocorticoid-bone',
      mode: { pilot: { practitioners: ['Practitioner/pilot-doc'] } },
      delivery: 'pilot-out',
    });
    expect(ruleIds(await post(SIGN, sign('demo-no-labs', 'Practitioner/pilot-doc')))).toEqual(['glucocorticoid-bone']);
  });

  it('patient-view: a pilot by fraction of patients draws the patient by keyed hash, the same on every call', async () => {
    const s = share(PILOT_KEY, 'demo-low-ccr');
    const below = Math.max(s / 2, 1e-9);
    const above = Math.min(1, s + (1 - s) / 2);
    await expectWithheld({
      service: PV,
      body: () => pv('demo-low-ccr'),
      ruleId: 'low-ccr',
      mode: { pilot: { patientFraction: below } },
      delivery: 'pilot-out',
    });
    configure({ 'low-ccr': { mode: { pilot: { patientFraction: above } } } });
    for (let i = 0; i < 3; i++) expect(ruleIds(await post(PV, pv('demo-low-ccr')))).toEqual(['low-ccr']);
  });

  it('patient-view: a pilot by location reads the encounter and shows the card only at the listed location', async () => {
    for (const [id, ward] of [
      ['enc-ward-5', 'ward-5'],
      ['enc-ward-6', 'ward-6'],
    ]) {
      await request(ct.url)
        .put(`/fhir/Encounter/${id}`)
        .set('content-type', 'application/fhir+json')
        .send({
          resourceType: 'Encounter',
          id,
          status: 'in-progress',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
          subject: { reference: 'Patient/demo-low-ccr' },
          location: [{ location: { reference: `Location/${ward}` } }],
        })
        .expect((r) => expect(r.status).toBeLessThan(300));
    }
    const mode = { pilot: { locations: ['Location/ward-5'] } };
    await expectWithheld({
      service: PV,
      body: () => pv('demo-low-ccr', { encounterId: 'enc-ward-6' }),
      ruleId: 'low-ccr',
      mode,
      delivery: 'pilot-out',
    });
    expect(ruleIds(await post(PV, pv('demo-low-ccr', { encounterId: 'enc-ward-5' })))).toEqual(['low-ccr']);
    // No encounter, no location: the pilot cannot place the call, so the card stays withheld.
    expect(ruleIds(await post(PV, pv('demo-low-ccr')))).toEqual([]);
  });

  it('keeps a silent or pilot rule out of the SMART app, which shows every finding it computes', async () => {
    configure({
      'low-ccr': { mode: 'silent' },
      'homa-context': { mode: { pilot: { practitioners: ['Practitioner/p1'] } } },
    });
    const silent = (await request(ct.url).get('/app/knowledge.json').expect(200)).body as { rules: string[] };
    configure({});
    const active = (await request(ct.url).get('/app/knowledge.json').expect(200)).body as { rules: string[] };
    expect(active.rules).toEqual(expect.arrayContaining(['low-ccr', 'homa-context']));
    expect(silent.rules).toEqual(active.rules.filter((r) => r !== 'low-ccr' && r !== 'homa-context'));
  });

  it('refuses an invalid site file on reload, keeps the running configuration and says why', async () => {
    configure({ 'low-ccr': { mode: 'silent' } });
    fs.writeFileSync(siteFile, JSON.stringify({ rules: { 'low-ccr': { mode: 'loud' } } }));
    expect(ct.reload()).toBe(false);
    expect(ruleIds(await post(PV, pv('demo-low-ccr')))).toEqual([]);
    fs.writeFileSync(siteFile, '{ "rules": ');
    expect(ct.reload()).toBe(false);
    expect(ruleIds(await post(PV, pv('demo-low-ccr')))).toEqual([]);
    const rejected = ct.logs.lines.filter(
      (l) => l.includes('"event":"knowledge-reload"') && l.includes('"result":"rejected"'),
    );
    expect(rejected.length).toBeGreaterThanOrEqual(2);
    expect(rejected.join('')).toMatch(/invalid clinical knowledge/);
    expect(rejected.join('')).not.toContain('demo-low-ccr');
    expect(sample(await metrics(), 'crosstalk_knowledge_reloads_total', { result: 'rejected' })).toBeGreaterThanOrEqual(
      2,
    );
  });

  it('runs a call in flight during a reload wholly on the configuration it started with', async () => {
    configure({ 'low-ccr': { mode: 'silent' } });
    let slow = true;
    const proxy = await startFaultProxy(fhir, () => (slow ? { delayMs: 1500 } : 'pass'));
    try {
      const inFlight = post(PV, { ...pv('demo-low-ccr'), fhirServer: proxy.fhirBase });
      while (proxy.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
      configure({});
      slow = false;
      expect(ruleIds(await inFlight)).toEqual([]);
      expect(ruleIds(await post(PV, { ...pv('demo-low-ccr'), fhirServer: proxy.fhirBase }))).toEqual(['low-ccr']);
    } finally {
      await proxy.close();
    }
  });
});

describe('reload on SIGHUP, in a process of its own', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-sighup-'));
  const siteFile = path.join(dir, 'site.json');
  let ct: Awaited<ReturnType<typeof spawnCrosstalk>> | undefined;

  afterAll(async () => {
    if (ct && ct.child.exitCode === null) {
      ct.child.kill('SIGTERM');
      await ct.exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = async (patientId: string) => {
    const res = await fetch(`${ct?.url}/cds-services/${PV}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(hookRequest(patientId, { fhirServer: `${ct?.url}/fhir` })),
    });
    expect(res.status).toBe(200);
    return ruleIds((await res.json()) as Body);
  };
  /** Sends SIGHUP and waits for the reload's verdict in the log. */
  const hangup = async (): Promise<string> => {
    const seen = (ct?.output().match(/"event":"knowledge-reload"/g) ?? []).length;
    ct?.child.kill('SIGHUP');
    for (let i = 0; i < 200; i++) {
      const lines = (ct?.output() ?? '').split('\n').filter((l) => l.includes('"event":"knowledge-reload"'));
      if (lines.length > seen) return lines[lines.length - 1] as string;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no reload verdict logged after SIGHUP');
  };

  it('applies a changed site file without a restart, and keeps the running one when the new one is invalid', async () => {
    fs.writeFileSync(siteFile, JSON.stringify({ rules: { 'low-ccr': { mode: 'silent' } } }));
    ct = await spawnCrosstalk({
      CROSSTALK_EMBEDDED_FHIR: 'true',
      CROSSTALK_DEMO_SEED: 'true',
      CROSSTALK_DATA_DIR: path.join(dir, 'data'),
      CROSSTALK_SITE_KNOWLEDGE: siteFile,
    });
    expect(await call('demo-low-ccr')).toEqual([]);

    fs.writeFileSync(siteFile, JSON.stringify({ rules: { 'low-ccr': { mode: 'active' } } }));
    expect(await hangup()).toMatch(/"result":"applied"/);
    expect(await call('demo-low-ccr')).toEqual(['low-ccr']);

    // A fraction of patients without CROSSTALK_PILOT_KEY cannot be drawn: refused, the active configuration kept.
    fs.writeFileSync(siteFile, JSON.stringify({ rules: { 'low-ccr': { mode: { pilot: { patientFraction: 0.5 } } } } }));
    const refused = await hangup();
    expect(refused).toMatch(/"result":"rejected"/);
    expect(refused).toMatch(/CROSSTALK_PILOT_KEY/);
    expect(await call('demo-low-ccr')).toEqual(['low-ccr']);

    fs.writeFileSync(siteFile, JSON.stringify({ rules: { 'low-ccr': { threshold: { below: { female: 'low' } } } } }));
    expect(await hangup()).toMatch(/"result":"rejected".*invalid clinical knowledge/);
    expect(await call('demo-low-ccr')).toEqual(['low-ccr']);
    expect(ct.child.exitCode).toBeNull();
  }, 60_000);
});
