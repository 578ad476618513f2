import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServices } from '../src/cds/services';
import type { SqlEngine } from '../src/store/engine';
import { openPostgres } from '../src/store/postgres';
import { openSqlite } from '../src/store/sqlite';
import { freshPostgresDatabase } from './support/databases';
import {
  buildPrefetch,
  expectOperationOutcome,
  expectValidCdsResponse,
  hookRequest,
  SERVICE_ID,
  startCrosstalk,
} from './support/harness';

interface Card {
  uuid: string;
  suggestions?: { uuid: string }[];
  extension: { crosstalk: { ruleId: string } };
}

const OVERRIDE_SYSTEM = 'urn:crosstalk:codesystem:override-reason';
const AUDIT_KEY = randomBytes(32).toString('hex');
const ADMIN_TOKEN = randomBytes(32).toString('hex');

const engines = [
  {
    name: 'sqlite',
    async create() {
      return { env: {} as Record<string, string>, drop: async () => undefined };
    },
  },
  {
    name: 'postgres',
    async create() {
      const d = await freshPostgresDatabase();
      return { env: { DATABASE_URL: d.url } as Record<string, string>, drop: d.drop };
    },
  },
];

describe.each(engines)('feedback and audit on $name', (engine) => {
  let ct: Awaited<ReturnType<typeof startCrosstalk>>;
  let db: Awaited<ReturnType<(typeof engines)[number]['create']>>;
  let raw: SqlEngine;
  const feedbackUrl = `/cds-services/${SERVICE_ID}/feedback`;
  const sendFeedback = (body: unknown) =>
    request(ct.url)
      .post(feedbackUrl)
      .set('content-type', 'application/json')
      .send(body as object);

  async function cardsFor(patientId: string, extra: Record<string, unknown> = {}): Promise<Card[]> {
    const res = await request(ct.url)
      .post(`/cds-services/${SERVICE_ID}`)
      .set('content-type', 'application/json')
      .send(hookRequest(patientId, { fhirServer: `${ct.url}/fhir`, ...extra }))
      .expect(200);
    expectValidCdsResponse(res.body);
    return res.body.cards as Card[];
  }

  const feedbackOn = (cardUuid: string | undefined) =>
    raw.db
      .selectFrom('feedback')
      .select('card_uuid')
      .where('card_uuid', '=', cardUuid ?? '')
      .execute();

  async function report(): Promise<{
    rules: {
      ruleId: string;
      fired: number;
      accepted: number;
      overridden: number;
      topOverrideReasons: { code?: string; display?: string; count: number }[];
    }[];
  }> {
    const r = await ct.store.report({
      from: new Date(Date.now() - 3_600_000),
      to: new Date(Date.now() + 60_000),
      interval: 'all',
    });
    return r;
  }

  beforeAll(async () => {
    db = await engine.create();
    // The suite checks the audit's patient hash against a key it knows: development mode with a production
    // setting (the audit key), which it must name.
    ct = await startCrosstalk({
      CROSSTALK_AUDIT_HMAC_KEY: AUDIT_KEY,
      CROSSTALK_DEV_MODE_OVERRIDE: 'unauthenticated-calls-with-production-settings',
      CROSSTALK_ADMIN_TOKEN: ADMIN_TOKEN,
      ...db.env,
    });
    raw = engine.name === 'sqlite' ? openSqlite(ct.dataDir) : openPostgres(db.env.DATABASE_URL as string);
  });
  afterAll(async () => {
    await raw?.close();
    await ct?.close();
    await db?.drop();
  });

  describe('the feedback endpoint', () => {
    it("takes an accepted suggestion and an override in one request and links each to its card's rule", async () => {
      const [lowCcr] = await cardsFor('demo-low-ccr');
      const [missing] = await cardsFor('demo-missing-cystatin');
      expect(lowCcr?.extension.crosstalk.ruleId).toBe('low-ccr');
      expect(missing?.extension.crosstalk.ruleId).toBe('missing-ccr-input');
      const res = await sendFeedback({
        feedback: [
          {
            card: lowCcr?.uuid,
            outcome: 'accepted',
            acceptedSuggestions: [{ id: lowCcr?.suggestions?.[0]?.uuid }],
            outcomeTimestamp: new Date().toISOString(),
          },
          // As the CDS Hooks sandbox sends it: system and code, no display.
          {
            card: missing?.uuid,
            outcome: 'overridden',
            overrideReason: {
              reason: { system: OVERRIDE_SYSTEM, code: 'patient-declined' },
              userComment: 'wants to wait',
            },
            outcomeTimestamp: new Date().toISOString(),
          },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({});

      const rows = await raw.db
        .selectFrom('feedback')
        .select(['card_uuid', 'rule_id', 'outcome', 'override_display', 'override_comment', 'accepted_suggestions'])
        .where('card_uuid', 'in', [lowCcr?.uuid ?? '', missing?.uuid ?? ''])
        .orderBy('rule_id')
        .execute();
      expect(rows).toEqual([
        {
          card_uuid: lowCcr?.uuid,
          rule_id: 'low-ccr',
          outcome: 'accepted',
          override_display: null,
          override_comment: null,
          accepted_suggestions: JSON.stringify([lowCcr?.suggestions?.[0]?.uuid]),
        },
        // The display comes from the override reasons the card offered.
        {
          card_uuid: missing?.uuid,
          rule_id: 'missing-ccr-input',
          outcome: 'overridden',
          override_display: 'Patient declined',
          override_comment: 'wants to wait',
          accepted_suggestions: '[]',
        },
      ]);
    });

    it('stores duplicates once, within one request and across requests, and still answers 200', async () => {
      const [card] = await cardsFor('demo-low-ccr');
      const entry = {
        card: card?.uuid,
        outcome: 'overridden',
        overrideReason: { reason: { system: OVERRIDE_SYSTEM, code: 'already-assessed' } },
        outcomeTimestamp: '2026-11-25T09:30:00.52Z',
      };
      await sendFeedback({ feedback: [entry, entry, entry] }).expect(200);
      await sendFeedback({ feedback: [entry] }).expect(200);
      // The same instant written another way is the same feedback.
      await sendFeedback({ feedback: [{ ...entry, outcomeTimestamp: '2026-11-25T10:30:00.520+01:00' }] }).expect(200);
      const rows = await raw.db
        .selectFrom('feedback')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('card_uuid', '=', card?.uuid ?? '')
        .execute();
      expect(Number(rows[0]?.n)).toBe(1);
    });

    it('refuses malformed feedback with 400 and an OperationOutcome naming the field, storing none of it', async () => {
      const [card] = await cardsFor('demo-low-ccr');
      const good = {
        card: card?.uuid,
        outcome: 'accepted',
        acceptedSuggestions: [{ id: card?.suggestions?.[0]?.uuid }],
        outcomeTimestamp: new Date().toISOString(),
      };
      const bad: [unknown, RegExp][] = [
        [
          { feedback: [good, { ...good, outcomeTimestamp: undefined }] },
          /feedback\/1 must have required property 'outcomeTimestamp'/,
        ],
        [
          { feedback: [good, { ...good, acceptedSuggestions: undefined }] },
          /feedback\/1 must have required property 'acceptedSuggestions'/,
        ],
        [{ feedback: [{ ...good, outcome: 'ignored' }] }, /feedback\/0\/outcome/],
        [{ feedback: [{ ...good, outcomeTimestamp: 'yesterday' }] }, /outcomeTimestamp must match format "date-time"/],
        [
          {
            feedback: [
              { card: card?.uuid, outcome: 'overridden', overrideReason: {}, outcomeTimestamp: good.outcomeTimestamp },
            ],
          },
          /overrideReason/,
        ],
        [{ feedback: [] }, /feedback must NOT have fewer than 1 items/],
        [{ cards: [good] }, /must have required property 'feedback'/],
      ];
      for (const [body, why] of bad) {
        const res = await sendFeedback(body).expect(400);
        expectOperationOutcome(res.body);
        expect(res.body.issue[0].diagnostics).toMatch(why);
      }
      const notJson = await request(ct.url)
        .post(feedbackUrl)
        .set('content-type', 'application/json')
        .send('{"feedback": [')
        .expect(400);
      expectOperationOutcome(notJson.body);
      const wrongType = await request(ct.url)
        .post(feedbackUrl)
        .set('content-type', 'text/plain')
        .send('feedback')
        .expect(415);
      expectOperationOutcome(wrongType.body);
      await request(ct.url).get(feedbackUrl).expect(405);
      const rows = await feedbackOn(card?.uuid);
      expect(rows).toEqual([]);
    });

    it('refuses feedback on cards it never issued with 422, one issue per entry, and stores none of the request', async () => {
      const [card] = await cardsFor('demo-low-ccr');
      const good = {
        card: card?.uuid,
        outcome: 'accepted',
        acceptedSuggestions: [{ id: card?.suggestions?.[0]?.uuid }],
        outcomeTimestamp: new Date().toISOString(),
      };
      const res = await sendFeedback({
        feedback: [
          good,
          {
            card: 'c0ffee00-0000-4000-8000-000000000000',
            outcome: 'overridden',
            outcomeTimestamp: new Date().toISOString(),
          },
          { ...good, acceptedSuggestions: [{ id: 'not-a-suggestion-of-this-card' }] },
        ],
      }).expect(422);
      expectOperationOutcome(res.body);
      expect(res.body.issue.map((i: { expression: string[] }) => i.expression[0])).toEqual([
        'feedback[1].card',
        'feedback[2].acceptedSuggestions',
      ]);
      expect(await feedbackOn(card?.uuid)).toEqual([]);
      // The valid entry alone is taken.
      await sendFeedback({ feedback: [good] }).expect(200);
      expect(await feedbackOn(card?.uuid)).toHaveLength(1);
    });

    it('answers 404 for feedback to a service that does not exist', async () => {
      const res = await request(ct.url)
        .post('/cds-services/no-such-service/feedback')
        .set('content-type', 'application/json')
        .send({ feedback: [] })
        .expect(404);
      expectOperationOutcome(res.body);
    });
  });

  describe('the audit trail', () => {
    it('records a call with its rules and reasons, measures, data sources, cards and latency, the patient only as a keyed hash', async () => {
      const hook = hookRequest('demo-low-ccr', {
        fhirServer: `${ct.url}/fhir`,
        fhirAuthorization: {
          access_token: 'secret-token-for-audit-test',
          token_type: 'Bearer',
          expires_in: 300,
          scope: 'patient/Observation.read',
          subject: 'crosstalk',
        },
      });
      const res = await request(ct.url)
        .post(`/cds-services/${SERVICE_ID}`)
        .set('content-type', 'application/json')
        .send(hook)
        .expect(200);
      expectValidCdsResponse(res.body);
      const [row] = await raw.db
        .selectFrom('service_calls')
        .selectAll()
        .where('hook_instance', '=', hook.hookInstance as string)
        .execute();
      expect(row).toMatchObject({ service_id: SERVICE_ID, status: 200, card_count: 1, client_iss: null });
      expect(row?.patient_hash).toBe(createHmac('sha256', AUDIT_KEY).update('Patient/demo-low-ccr').digest('hex'));
      expect(Number(row?.latency_ms)).toBeGreaterThan(0);
      expect(JSON.parse(row?.data_sources as string)).toMatchObject({
        patient: 'fhir',
        creatinine: 'fhir',
        cystatinC: 'fhir',
        insulin: 'fhir',
        glucose: 'fhir',
      });
      const measures = JSON.parse(row?.measures as string) as { code: string; value: number; unit: string }[];
      expect(measures.find((m) => m.code === 'ccr')).toEqual({ code: 'ccr', value: 0.6, unit: '(mg/dL)/(mg/L)' });
      // Measures only: no Observation references, no laboratory values.
      expect(row?.measures).not.toMatch(/Observation|derivedFrom|inputs/);

      const rules = await raw.db
        .selectFrom('rule_outcomes')
        .select(['rule_id', 'status', 'reason_codes'])
        .where('call_id', '=', row?.call_id as string)
        .orderBy('rule_id')
        .execute();
      // Every rule of the service is on record, fired or not.
      expect(rules.map((r) => r.rule_id)).toEqual(
        [...loadServices().get('bone-muscle-patient-view')!.definition.rules].sort(),
      );
      expect(rules.find((r) => r.rule_id === 'low-ccr')?.status).toBe('fired');
      expect(rules.find((r) => r.rule_id === 'missing-ccr-input')).toMatchObject({
        status: 'not-met',
        reason_codes: JSON.stringify(['pair-present']),
      });

      const cards = await raw.db
        .selectFrom('issued_cards')
        .select(['card_uuid', 'rule_id', 'suggestion_uuids', 'hook_instance'])
        .where('call_id', '=', row?.call_id as string)
        .execute();
      expect(cards).toEqual([
        {
          card_uuid: res.body.cards[0].uuid,
          rule_id: 'low-ccr',
          suggestion_uuids: JSON.stringify(res.body.cards[0].suggestions.map((s: { uuid: string }) => s.uuid)),
          hook_instance: hook.hookInstance,
        },
      ]);
    });

    it('records suppressed rules with their reason codes, and data that came by prefetch', async () => {
      const hook = hookRequest('demo-ckd', { prefetch: await buildPrefetch(`${ct.url}/fhir`, 'demo-ckd') });
      const res = await request(ct.url)
        .post(`/cds-services/${SERVICE_ID}`)
        .set('content-type', 'application/json')
        .send(hook)
        .expect(200);
      expectValidCdsResponse(res.body);
      const [row] = await raw.db
        .selectFrom('service_calls')
        .select(['call_id', 'card_count', 'data_sources'])
        .where('hook_instance', '=', hook.hookInstance as string)
        .execute();
      expect(Number(row?.card_count)).toBe(0);
      expect(JSON.parse(row?.data_sources ?? '{}')).toMatchObject({
        patient: 'prefetch',
        creatinine: 'prefetch',
        cystatinC: 'prefetch',
        insulin: 'prefetch',
        glucose: 'prefetch',
      });
      const [ccr] = await raw.db
        .selectFrom('rule_outcomes')
        .select(['status', 'reason_codes'])
        .where('call_id', '=', row?.call_id ?? '')
        .where('rule_id', '=', 'low-ccr')
        .execute();
      expect(ccr).toEqual({ status: 'suppressed', reason_codes: JSON.stringify(['egfr-below-minimum']) });
    });

    it('records failed calls with their status and no cards', async () => {
      const hook = hookRequest('demo-low-ccr');
      expectOperationOutcome(
        (
          await request(ct.url)
            .post(`/cds-services/${SERVICE_ID}`)
            .set('content-type', 'application/json')
            .send(hook)
            .expect(412)
        ).body,
      );
      const rows = await raw.db
        .selectFrom('service_calls')
        .select(['status', 'card_count', 'patient_hash'])
        .where('hook_instance', '=', hook.hookInstance as string)
        .execute();
      expect(rows).toEqual([
        {
          status: 412,
          card_count: 0,
          patient_hash: createHmac('sha256', AUDIT_KEY).update('Patient/demo-low-ccr').digest('hex'),
        },
      ]);
    });

    if (engine.name === 'sqlite') {
      it('never writes the patient id or the access token into the database files', async () => {
        const secret = `tok-${randomBytes(12).toString('hex')}`;
        const patientId = 'demo-missing-cystatin';
        await cardsFor(patientId, {
          fhirAuthorization: {
            access_token: secret,
            token_type: 'Bearer',
            expires_in: 300,
            scope: 'patient/Observation.read',
            subject: 'crosstalk',
          },
        });
        const files = fs.readdirSync(ct.dataDir).map((f) => fs.readFileSync(path.join(ct.dataDir, f)));
        expect(files.length).toBeGreaterThan(0);
        for (const bytes of files) {
          expect(bytes.includes(secret)).toBe(false);
          expect(bytes.includes(patientId)).toBe(false);
          expect(bytes.includes('demo-low-ccr')).toBe(false);
        }
        // The same bytes do contain what the audit is meant to hold, so the search is a real one.
        expect(
          files.some((b) => b.includes(createHmac('sha256', AUDIT_KEY).update(`Patient/${patientId}`).digest('hex'))),
        ).toBe(true);
      });
    }
  });

  describe('governance reports over the admin endpoint', () => {
    it('answers only with the admin bearer token', async () => {
      const none = await request(ct.url).get('/admin/reports').expect(401);
      expectOperationOutcome(none.body);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      await request(ct.url)
        .get('/admin/reports')
        .set('authorization', `Bearer ${ADMIN_TOKEN.slice(0, -1)}x`)
        .expect(401);
      await request(ct.url).get('/admin/reports').set('authorization', `Basic ${ADMIN_TOKEN}`).expect(401);
      await request(ct.url).get('/admin/reports').set('authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    });

    it('reports per rule: fired, accepted, overridden, top override reasons, median latency', async () => {
      const before = await report();
      const count = (r: typeof before, rule: string) =>
        r.rules.find((x) => x.ruleId === rule) ?? { fired: 0, accepted: 0, overridden: 0, topOverrideReasons: [] };
      const a = (await cardsFor('demo-low-ccr'))[0] as Card;
      const b = (await cardsFor('demo-low-ccr'))[0] as Card;
      const c = (await cardsFor('demo-low-ccr'))[0] as Card;
      const t = (s: number) => new Date(Date.now() + s).toISOString();
      await sendFeedback({
        feedback: [
          {
            card: a.uuid,
            outcome: 'accepted',
            acceptedSuggestions: [{ id: a.suggestions?.[0]?.uuid }],
            outcomeTimestamp: t(0),
          },
          {
            card: b.uuid,
            outcome: 'overridden',
            overrideReason: { reason: { system: OVERRIDE_SYSTEM, code: 'confounded' } },
            outcomeTimestamp: t(0),
          },
          {
            card: c.uuid,
            outcome: 'overridden',
            overrideReason: { reason: { system: OVERRIDE_SYSTEM, code: 'confounded' } },
            outcomeTimestamp: t(0),
          },
        ],
      }).expect(200);

      const res = await request(ct.url)
        .get('/admin/reports')
        .query({
          from: new Date(Date.now() - 3_600_000).toISOString(),
          to: new Date(Date.now() + 60_000).toISOString(),
        })
        .set('authorization', `Bearer ${ADMIN_TOKEN}`)
        .expect(200);
      const after = res.body as typeof before;
      const ccrBefore = count(before, 'low-ccr');
      const ccr = count(after, 'low-ccr');
      expect(ccr.fired - ccrBefore.fired).toBe(3);
      expect(ccr.accepted - ccrBefore.accepted).toBe(1);
      expect(ccr.overridden - ccrBefore.overridden).toBe(2);
      const confounded = (r: typeof ccr) => r.topOverrideReasons.find((x) => x.code === 'confounded')?.count ?? 0;
      expect(confounded(ccr) - confounded(ccrBefore)).toBe(2);
      expect(ccr.topOverrideReasons.find((x) => x.code === 'confounded')?.display).toBe(
        'Labs confounded (e.g. steroids, thyroid, inflammation)',
      );
      expect((ccr as { medianLatencyMs?: number }).medianLatencyMs).toBeGreaterThan(0);
    });

    it('refuses a malformed report query with 400', async () => {
      for (const q of [
        { interval: 'month' },
        { from: 'last week' },
        { from: '2026-11-10', to: '2026-11-01' },
        { colour: 'blue' },
      ]) {
        const res = await request(ct.url)
          .get('/admin/reports')
          .query(q)
          .set('authorization', `Bearer ${ADMIN_TOKEN}`)
          .expect(400);
        expectOperationOutcome(res.body);
      }
    });
  });
});

describe('without an admin token configured', () => {
  it('has no admin endpoint at all', async () => {
    const ct = await startCrosstalk();
    try {
      await request(ct.url)
        .get('/admin/reports')
        .set('authorization', 'Bearer anything-at-all-anything-at-all-x')
        .expect(404);
    } finally {
      await ct.close();
    }
  });
});
