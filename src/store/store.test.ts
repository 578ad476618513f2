import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CompiledQuery,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir, freshPostgresDatabase } from '../../test/support/databases';
import type { Migration, SqlEngine } from './engine';
import { MIGRATIONS } from './migrations';
import { openPostgres } from './postgres';
import { StoreReplayCache } from './replay-cache';
import type { Database } from './schema';
import { CompiledShapes, SqlStore } from './sql-store';
import { openSqlite, SQLITE_FILE_NAME } from './sqlite';
import type { AuditCall, FeedbackEntry, IssuedCard, RuleDelivery, RuleStatus } from './types';

/*
 * One suite, two engines: the same store code and SQL against an embedded SQLite file and a real
 * PostgreSQL server (started for the run by test/support/postgres-cluster.ts).
 */

interface Engine {
  name: 'sqlite' | 'postgres';
  /** A new empty database; every call to connect() opens another connection (pool) to it. */
  create(): Promise<{ connect: () => SqlEngine; drop: () => Promise<void>; dataDir?: string }>;
}

const engines: Engine[] = [
  {
    name: 'sqlite',
    async create() {
      const d = await freshDataDir();
      return { connect: () => openSqlite(d.dir), drop: d.drop, dataDir: d.dir };
    },
  },
  {
    name: 'postgres',
    async create() {
      const d = await freshPostgresDatabase();
      return { connect: () => openPostgres(d.url), drop: d.drop };
    },
  },
];

const T0 = Date.parse('2026-11-02T00:00:00Z'); // a Monday, midnight UTC
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0 + ms);

/** What the hand-written migration runner of earlier Crosstalk versions created, statement for statement. */
const OLD_RUNNER_SCHEMA = `
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);
CREATE TABLE service_calls (
  call_id       TEXT PRIMARY KEY,
  called_at     BIGINT NOT NULL,
  service_id    TEXT NOT NULL,
  hook_instance TEXT,
  client_iss    TEXT,
  patient_hash  TEXT,
  status        INTEGER NOT NULL,
  latency_ms    DOUBLE PRECISION NOT NULL,
  data_sources  TEXT NOT NULL,
  partial_keys  TEXT NOT NULL,
  measures      TEXT NOT NULL,
  card_count    INTEGER NOT NULL
);
CREATE INDEX service_calls_by_time ON service_calls (called_at);

CREATE TABLE rule_outcomes (
  call_id      TEXT NOT NULL REFERENCES service_calls (call_id),
  rule_id      TEXT NOT NULL,
  status       TEXT NOT NULL,
  reason_codes TEXT NOT NULL,
  called_at    BIGINT NOT NULL,
  PRIMARY KEY (call_id, rule_id)
);
CREATE INDEX rule_outcomes_by_time ON rule_outcomes (called_at, rule_id);

CREATE TABLE issued_cards (
  card_uuid        TEXT PRIMARY KEY,
  call_id          TEXT NOT NULL REFERENCES service_calls (call_id),
  service_id       TEXT NOT NULL,
  rule_id          TEXT NOT NULL,
  indicator        TEXT NOT NULL,
  hook_instance    TEXT,
  issued_at        BIGINT NOT NULL,
  suggestion_uuids TEXT NOT NULL
);
CREATE INDEX issued_cards_by_time ON issued_cards (issued_at);
CREATE INDEX issued_cards_by_call ON issued_cards (call_id);

CREATE TABLE feedback (
  card_uuid            TEXT NOT NULL,
  outcome              TEXT NOT NULL,
  outcome_at           BIGINT NOT NULL,
  received_at          BIGINT NOT NULL,
  service_id           TEXT NOT NULL,
  rule_id              TEXT NOT NULL,
  call_id              TEXT NOT NULL,
  card_issued_at       BIGINT NOT NULL,
  accepted_suggestions TEXT NOT NULL,
  override_system      TEXT,
  override_code        TEXT,
  override_display     TEXT,
  override_comment     TEXT,
  client_iss           TEXT,
  PRIMARY KEY (card_uuid, outcome, outcome_at)
);
CREATE INDEX feedback_by_time ON feedback (received_at);
CREATE INDEX feedback_by_card_time ON feedback (card_issued_at, rule_id);

CREATE TABLE jwt_replay (
  iss        TEXT NOT NULL,
  jti        TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (iss, jti)
);
CREATE INDEX jwt_replay_by_expiry ON jwt_replay (expires_at);
ALTER TABLE issued_cards ADD COLUMN client_iss TEXT;
ALTER TABLE issued_cards ADD COLUMN client_tenant TEXT;
INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'audit, issued cards, feedback, JWT replay cache', 1764547200000);
INSERT INTO schema_migrations (version, name, applied_at) VALUES (2, 'issued cards remember the client (issuer, tenant) they were issued to', 1764547200000);
`;
const OLD_RUNNER_VERSION_3 = `
ALTER TABLE rule_outcomes ADD COLUMN mode TEXT NOT NULL DEFAULT 'active';
INSERT INTO schema_migrations (version, name, applied_at) VALUES (3, 'rule outcomes record the rule mode (active, silent, pilot-in, pilot-out)', 1764547200000);
`;

function call(o: {
  at: number;
  latencyMs?: number;
  rules?: [string, RuleStatus, string[]?][];
  cards?: { ruleId: string; suggestions?: string[] }[];
}): AuditCall {
  const callId = randomUUID();
  const calledAt = at(o.at);
  return {
    callId,
    calledAt,
    serviceId: 'bone-muscle-patient-view',
    hookInstance: randomUUID(),
    patientHash: 'a'.repeat(64),
    status: 200,
    latencyMs: o.latencyMs ?? 12.5,
    dataSources: { patient: 'prefetch', creatinine: 'fhir' },
    partialKeys: [],
    rules: (o.rules ?? []).map(([ruleId, status, reasonCodes]) => ({ ruleId, status, reasonCodes: reasonCodes ?? [] })),
    measures: [{ code: 'ccr', value: 0.6, unit: '(mg/dL)/(mg/L)' }],
    cards: (o.cards ?? []).map((c) => ({
      cardUuid: randomUUID(),
      callId,
      serviceId: 'bone-muscle-patient-view',
      ruleId: c.ruleId,
      indicator: 'info',
      issuedAt: calledAt,
      suggestionUuids: c.suggestions ?? [],
    })),
  };
}

function feedbackOn(
  card: IssuedCard,
  outcome: 'accepted' | 'overridden',
  atMs: number,
  reason?: string,
): FeedbackEntry {
  return {
    cardUuid: card.cardUuid,
    outcome,
    outcomeAt: at(atMs),
    receivedAt: at(atMs + 1000),
    serviceId: card.serviceId,
    ruleId: card.ruleId,
    callId: card.callId,
    cardIssuedAt: card.issuedAt,
    acceptedSuggestions: outcome === 'accepted' ? card.suggestionUuids.slice(0, 1) : [],
    ...(reason
      ? {
          overrideReason: {
            system: 'urn:crosstalk:codesystem:override-reason',
            code: reason,
            display: `display of ${reason}`,
          },
        }
      : {}),
  };
}

const firstCard = (c: AuditCall): IssuedCard => c.cards[0] as IssuedCard;

describe.each(engines)('the store on $name', (engine) => {
  let db: Awaited<ReturnType<Engine['create']>>;
  let store: SqlStore;

  beforeAll(async () => {
    db = await engine.create();
    store = await SqlStore.open(db.connect());
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  describe('migrations', () => {
    it('records every migration as applied when the store is first opened', async () => {
      const e = db.connect();
      try {
        const rows = await e.db.selectFrom('kysely_migration').select('name').orderBy('name').execute();
        expect(rows.map((r) => r.name)).toEqual(Object.keys(MIGRATIONS).sort());
      } finally {
        await e.close();
      }
    });

    it('applies nothing the second time, and only the new migration when one is added', async () => {
      const e = db.connect();
      try {
        expect(await e.migrate(MIGRATIONS)).toEqual([]);
        const next: Record<string, Migration> = {
          '999-probe': {
            up: (k) =>
              k.schema
                .createTable('migration_probe')
                .addColumn('id', 'text', (c) => c.primaryKey())
                .execute(),
          },
        };
        expect(await e.migrate({ ...MIGRATIONS, ...next })).toEqual(['999-probe']);
        expect(await e.migrate({ ...MIGRATIONS, ...next })).toEqual([]);
        await e.transaction([
          CompiledQuery.raw('DROP TABLE migration_probe'),
          e.db.deleteFrom('kysely_migration').where('name', '=', '999-probe').compile(),
        ]);
      } finally {
        await e.close();
      }
    });

    it('refuses to run on a database migrated by a newer Crosstalk', async () => {
      const e = db.connect();
      try {
        await e.transaction([
          e.db
            .insertInto('kysely_migration')
            .values({ name: '999-from-the-future', timestamp: new Date().toISOString() })
            .compile(),
        ]);
        await expect(SqlStore.open(db.connect())).rejects.toThrow(
          /999-from-the-future, newer than this Crosstalk knows/,
        );
        await e.transaction([e.db.deleteFrom('kysely_migration').where('name', '=', '999-from-the-future').compile()]);
      } finally {
        await e.close();
      }
    });

    it('reads rule outcomes recorded before rule modes existed as active', async () => {
      const other = await engine.create();
      try {
        const e = other.connect();
        await e.migrate(Object.fromEntries(Object.entries(MIGRATIONS).filter(([name]) => name < '003')));
        await e.transaction([
          CompiledQuery.raw(
            `INSERT INTO service_calls (call_id, called_at, service_id, status, latency_ms, data_sources, partial_keys, measures, card_count)
             VALUES ('old-call', ${T0 + HOUR}, 'bone-muscle-patient-view', 200, 10, '{}', '[]', '[]', 0)`,
          ),
          CompiledQuery.raw(
            `INSERT INTO rule_outcomes (call_id, rule_id, status, reason_codes, called_at) VALUES ('old-call', 'low-ccr', 'fired', '[]', ${T0 + HOUR})`,
          ),
        ]);
        await e.close();
        const s = await SqlStore.open(other.connect());
        const r = await s.report({ from: at(0), to: at(DAY), interval: 'all' });
        expect(r.rules[0]).toMatchObject({
          ruleId: 'low-ccr',
          calls: 1,
          callsByMode: { active: 1 },
          fired: 1,
          wouldHaveShown: 0,
        });
        await s.close();
      } finally {
        await other.drop();
      }
    });

    it('migrates once when several replicas open a new database at the same time', async () => {
      const other = await engine.create();
      try {
        const stores = await Promise.all([1, 2, 3].map(() => SqlStore.open(other.connect())));
        const e = other.connect();
        const rows = await e.db.selectFrom('kysely_migration').select('name').execute();
        expect(rows).toHaveLength(Object.keys(MIGRATIONS).length);
        await e.close();
        await Promise.all(stores.map((s) => s.close()));
      } finally {
        await other.drop();
      }
    });

    it.each([2, 3])(
      'opens a database that the hand-written runner of earlier versions took to version %i, keeping its rows',
      async (version) => {
        const old = await engine.create();
        const e = old.connect();
        try {
          // The database exactly as the old runner left it: its schema, its own record of its migrations, and a call.
          const script = version === 3 ? OLD_RUNNER_SCHEMA + OLD_RUNNER_VERSION_3 : OLD_RUNNER_SCHEMA;
          for (const statement of script
            .split(';')
            .map((x) => x.trim())
            .filter(Boolean))
            await e.transaction([CompiledQuery.raw(statement)]);
          const c = call({
            at: 0,
            rules: [['low-ccr', 'fired']],
            cards: [{ ruleId: 'low-ccr', suggestions: ['dxa'] }],
          });
          await e.transaction([
            CompiledQuery.raw(
              `INSERT INTO service_calls (call_id, called_at, service_id, status, latency_ms, data_sources, partial_keys, measures, card_count)
             VALUES ('${c.callId}', ${T0}, 'bone-muscle-patient-view', 200, 12.5, '{}', '[]', '[]', 1)`,
            ),
            CompiledQuery.raw(
              `INSERT INTO issued_cards (card_uuid, call_id, service_id, rule_id, indicator, issued_at, suggestion_uuids, client_iss)
             VALUES ('${firstCard(c).cardUuid}', '${c.callId}', 'bone-muscle-patient-view', 'low-ccr', 'info', ${T0}, '["dxa"]', 'https://ehr.example.org')`,
            ),
          ]);
          const s = await SqlStore.open(old.connect());
          try {
            const found = (await s.findCards([firstCard(c).cardUuid])).get(firstCard(c).cardUuid);
            expect(found).toMatchObject({
              callId: c.callId,
              ruleId: 'low-ccr',
              suggestionUuids: ['dxa'],
              clientIss: 'https://ehr.example.org',
            });
            expect(
              (await e.db.selectFrom('kysely_migration').select('name').orderBy('name').execute()).map((r) => r.name),
            ).toEqual(Object.keys(MIGRATIONS).sort());
            // The old record stays as it was, for older code that still reads it.
            expect(
              (await e.db.selectFrom('schema_migrations').select('version').orderBy('version').execute()).map((r) =>
                Number(r.version),
              ),
            ).toEqual(version === 3 ? [1, 2, 3] : [1, 2]);
            // And the store works on it as on a new one.
            await s.recordCall(call({ at: HOUR, cards: [{ ruleId: 'low-ccr' }] }));
            expect(await s.recordFeedback([feedbackOn(firstCard(c), 'accepted', HOUR)])).toMatchObject({ stored: 1 });
          } finally {
            await s.close();
          }
        } finally {
          await e.close();
          await old.drop();
        }
      },
    );
  });

  describe('issued cards', () => {
    it('finds the cards of a recorded call by uuid, with their rule, call and suggestions', async () => {
      const c = call({
        at: 0,
        rules: [['low-ccr', 'fired']],
        cards: [{ ruleId: 'low-ccr', suggestions: ['s-1', 's-2'] }],
      });
      await store.recordCall(c);
      const card = firstCard(c);
      const found = await store.findCards([card.cardUuid, 'never-issued']);
      expect([...found.keys()]).toEqual([card.cardUuid]);
      expect(found.get(card.cardUuid)).toEqual(card);
    });

    it('records nothing of a call that cannot be recorded whole', async () => {
      const first = call({ at: 0, cards: [{ ruleId: 'low-ccr' }] });
      await store.recordCall(first);
      const again = call({ at: 0, rules: [['low-ccr', 'fired']], cards: [{ ruleId: 'low-ccr' }] });
      again.cards.push({ ...firstCard(first), callId: again.callId });
      await expect(store.recordCall(again)).rejects.toThrow();
      const e = db.connect();
      try {
        expect(
          await e.db.selectFrom('service_calls').select('call_id').where('call_id', '=', again.callId).execute(),
        ).toEqual([]);
        expect(
          await e.db
            .selectFrom('issued_cards')
            .select('card_uuid')
            .where('card_uuid', '=', firstCard(again).cardUuid)
            .execute(),
        ).toEqual([]);
      } finally {
        await e.close();
      }
    });

    it('looks up more cards than one statement can bind', async () => {
      const c = call({ at: 0, cards: Array.from({ length: 3 }, () => ({ ruleId: 'missing-ccr-input' })) });
      await store.recordCall(c);
      const wanted = [...Array.from({ length: 1200 }, () => randomUUID()), ...c.cards.map((k) => k.cardUuid)];
      expect((await store.findCards(wanted)).size).toBe(3);
    });
  });

  describe('feedback', () => {
    it('stores an entry once, however often it is sent, in one request or several', async () => {
      const c = call({ at: 0, cards: [{ ruleId: 'low-ccr', suggestions: ['dxa'] }] });
      await store.recordCall(c);
      const fb = feedbackOn(firstCard(c), 'accepted', HOUR);
      expect(await store.recordFeedback([fb, fb])).toEqual({ stored: 1, duplicates: 1, isNew: [true, false] });
      expect(await store.recordFeedback([{ ...fb, receivedAt: at(2 * HOUR) }])).toEqual({
        stored: 0,
        duplicates: 1,
        isNew: [false],
      });
      // Same card and outcome at another time, or another outcome at the same time, is new feedback.
      const later = feedbackOn(firstCard(c), 'accepted', 2 * HOUR);
      const overridden = feedbackOn(firstCard(c), 'overridden', HOUR, 'not-relevant');
      expect(await store.recordFeedback([later, overridden])).toEqual({
        stored: 2,
        duplicates: 0,
        isNew: [true, true],
      });
    });

    it('stores none of a request when one entry cannot be stored', async () => {
      const c = call({ at: 0, cards: [{ ruleId: 'low-ccr' }, { ruleId: 'missing-ccr-input' }] });
      await store.recordCall(c);
      const good = feedbackOn(c.cards[0] as IssuedCard, 'overridden', HOUR, 'already-assessed');
      const bad = { ...feedbackOn(c.cards[1] as IssuedCard, 'overridden', HOUR), ruleId: null as unknown as string };
      await expect(store.recordFeedback([good, bad])).rejects.toThrow();
      expect(await store.recordFeedback([good])).toMatchObject({ stored: 1 });
    });
  });

  describe('governance report', () => {
    let reportDb: Awaited<ReturnType<Engine['create']>>;
    let rs: SqlStore;
    const calls: AuditCall[] = [];

    beforeAll(async () => {
      reportDb = await engine.create();
      rs = await SqlStore.open(reportDb.connect());
      // Day 1: low-ccr fires in three calls (latencies 30, 10, 20 ms) and is suppressed in one; day 2: fires in two (40, 50 ms).
      const plan: [number, number, RuleStatus][] = [
        [1 * HOUR, 30, 'fired'],
        [2 * HOUR, 10, 'fired'],
        [3 * HOUR, 20, 'fired'],
        [4 * HOUR, 99, 'suppressed'],
        [DAY + HOUR, 40, 'fired'],
        [DAY + 2 * HOUR, 50, 'fired'],
      ];
      for (const [t, latencyMs, status] of plan) {
        calls.push(
          call({
            at: t,
            latencyMs,
            rules: [
              ['low-ccr', status, status === 'suppressed' ? ['egfr-below-60'] : []],
              ['homa-context', 'not-met', ['missing-input']],
            ],
            cards: status === 'fired' ? [{ ruleId: 'low-ccr', suggestions: ['dxa'] }] : [],
          }),
        );
      }
      // Outside the reported week: must not count.
      calls.push(call({ at: -HOUR, rules: [['low-ccr', 'fired']], cards: [{ ruleId: 'low-ccr' }] }));
      calls.push(call({ at: 7 * DAY, rules: [['low-ccr', 'fired']], cards: [{ ruleId: 'low-ccr' }] }));
      for (const c of calls) await rs.recordCall(c);
      const [d1a, d1b, d1c, , d2a, d2b] = calls.map((c) => c.cards[0] as IssuedCard);
      await rs.recordFeedback([
        feedbackOn(d1a as IssuedCard, 'accepted', 5 * HOUR),
        // Overridden, then accepted: counts once, as accepted.
        feedbackOn(d1b as IssuedCard, 'overridden', 5 * HOUR, 'not-relevant'),
        feedbackOn(d1b as IssuedCard, 'accepted', 6 * HOUR),
        feedbackOn(d1c as IssuedCard, 'overridden', 5 * HOUR, 'already-assessed'),
        // Feedback arrives on day 3 but counts on day 2, when its card was issued.
        feedbackOn(d2a as IssuedCard, 'overridden', 2 * DAY + HOUR, 'already-assessed'),
        feedbackOn(d2b as IssuedCard, 'overridden', 2 * DAY + HOUR, 'patient-declined'),
        feedbackOn(calls[6]?.cards[0] as IssuedCard, 'accepted', HOUR),
      ]);
    });
    afterAll(async () => {
      await rs?.close();
      await reportDb?.drop();
    });

    it('counts per rule over the whole period: fired, suppressed, accepted, overridden, top reasons, median latency', async () => {
      const r = await rs.report({ from: at(0), to: at(7 * DAY), interval: 'all' });
      expect(r).toMatchObject({ from: at(0).toISOString(), to: at(7 * DAY).toISOString(), interval: 'all' });
      const ccr = r.rules.find((x) => x.ruleId === 'low-ccr');
      expect(ccr).toEqual({
        periodStart: at(0).toISOString(),
        periodEnd: at(7 * DAY).toISOString(),
        ruleId: 'low-ccr',
        calls: 6,
        callsByMode: { active: 6 },
        fired: 5,
        firedPer1000Calls: 833.3,
        wouldHaveShown: 0,
        wouldHaveShownPer1000Calls: 0,
        suppressed: 1,
        suppressionReasons: [{ code: 'egfr-below-60', count: 1 }],
        accepted: 2,
        overridden: 3,
        topOverrideReasons: [
          {
            system: 'urn:crosstalk:codesystem:override-reason',
            code: 'already-assessed',
            display: 'display of already-assessed',
            count: 2,
          },
          {
            system: 'urn:crosstalk:codesystem:override-reason',
            code: 'patient-declined',
            display: 'display of patient-declined',
            count: 1,
          },
        ],
        medianLatencyMs: 30,
      });
      expect(r.rules.find((x) => x.ruleId === 'homa-context')).toMatchObject({
        fired: 0,
        suppressed: 0,
        accepted: 0,
        overridden: 0,
      });
      expect(r.rules.find((x) => x.ruleId === 'homa-context')?.medianLatencyMs).toBeUndefined();
    });

    it('splits by day, taking the mean of the middle two latencies when a day has an even count', async () => {
      const r = await rs.report({ from: at(0), to: at(7 * DAY), interval: 'day' });
      const ccr = r.rules.filter((x) => x.ruleId === 'low-ccr');
      expect(
        ccr.map((x) => [x.periodStart, x.fired, x.suppressed, x.accepted, x.overridden, x.medianLatencyMs]),
      ).toEqual([
        [at(0).toISOString(), 3, 1, 2, 1, 20],
        [at(DAY).toISOString(), 2, 0, 0, 2, 45],
      ]);
      expect(ccr[1]?.periodEnd).toBe(at(2 * DAY).toISOString());
    });

    it('keeps the top reasons to the number asked for', async () => {
      const r = await rs.report({ from: at(0), to: at(7 * DAY), interval: 'all', topReasons: 1 });
      expect(r.rules.find((x) => x.ruleId === 'low-ccr')?.topOverrideReasons.map((x) => x.code)).toEqual([
        'already-assessed',
      ]);
    });

    it('includes the start of the period and excludes its end', async () => {
      const r = await rs.report({ from: at(-HOUR), to: at(HOUR), interval: 'all' });
      expect(r.rules.find((x) => x.ruleId === 'low-ccr')).toMatchObject({ fired: 1, accepted: 1 });
    });
  });

  describe('governance report of silent and pilot rules', () => {
    let modeDb: Awaited<ReturnType<Engine['create']>>;
    let ms: SqlStore;

    beforeAll(async () => {
      modeDb = await engine.create();
      ms = await SqlStore.open(modeDb.connect());
      // Week 1: four calls; low-ccr silent fires in three (withheld) and is suppressed in one; glucocorticoid-bone
      // is piloted: shown in one call (accepted), withheld in one. Week 2: low-ccr silent fires once in two calls.
      const plan: { at: number; ccr: [RuleStatus, string[]]; gc?: [RuleStatus, RuleDelivery] }[] = [
        { at: HOUR, ccr: ['fired', []], gc: ['fired', 'pilot-in'] },
        { at: 2 * HOUR, ccr: ['fired', []], gc: ['fired', 'pilot-out'] },
        { at: 3 * HOUR, ccr: ['fired', []], gc: ['not-met', 'pilot-out'] },
        { at: 4 * HOUR, ccr: ['suppressed', ['glucocorticoid-exposure', 'crp-above']], gc: ['not-met', 'pilot-in'] },
        { at: 7 * DAY + HOUR, ccr: ['fired', []] },
        { at: 7 * DAY + 2 * HOUR, ccr: ['suppressed', ['crp-above']] },
      ];
      for (const p of plan) {
        const c = call({
          at: p.at,
          cards: p.gc?.[1] === 'pilot-in' && p.gc[0] === 'fired' ? [{ ruleId: 'glucocorticoid-bone' }] : [],
        });
        c.rules = [
          { ruleId: 'low-ccr', status: p.ccr[0], reasonCodes: p.ccr[1], mode: 'silent' },
          ...(p.gc ? [{ ruleId: 'glucocorticoid-bone', status: p.gc[0], reasonCodes: [], mode: p.gc[1] }] : []),
        ];
        await ms.recordCall(c);
        if (c.cards[0]) await ms.recordFeedback([feedbackOn(c.cards[0], 'accepted', p.at + HOUR)]);
      }
    });
    afterAll(async () => {
      await ms?.close();
      await modeDb?.drop();
    });

    it('counts a withheld card as would-have-shown per 1,000 calls, by rule and week, never as fired', async () => {
      const r = await ms.report({ from: at(0), to: at(14 * DAY), interval: 'week' });
      const ccr = r.rules.filter((x) => x.ruleId === 'low-ccr');
      expect(
        ccr.map((x) => [
          x.periodStart,
          x.calls,
          x.callsByMode,
          x.fired,
          x.wouldHaveShown,
          x.wouldHaveShownPer1000Calls,
        ]),
      ).toEqual([
        [at(0).toISOString(), 4, { silent: 4 }, 0, 3, 750],
        [at(7 * DAY).toISOString(), 2, { silent: 2 }, 0, 1, 500],
      ]);
    });

    it('lists suppression reasons of a silent rule, each code counted once per call', async () => {
      const r = await ms.report({ from: at(0), to: at(14 * DAY), interval: 'all' });
      expect(r.rules.find((x) => x.ruleId === 'low-ccr')?.suppressionReasons).toEqual([
        { code: 'crp-above', count: 2 },
        { code: 'glucocorticoid-exposure', count: 1 },
      ]);
    });

    it('splits a pilot into cards shown (with their feedback) and cards withheld', async () => {
      const r = await ms.report({ from: at(0), to: at(7 * DAY), interval: 'all' });
      expect(r.rules.find((x) => x.ruleId === 'glucocorticoid-bone')).toMatchObject({
        calls: 4,
        callsByMode: { 'pilot-in': 2, 'pilot-out': 2 },
        fired: 1,
        firedPer1000Calls: 250,
        wouldHaveShown: 1,
        wouldHaveShownPer1000Calls: 250,
        accepted: 1,
        overridden: 0,
      });
    });
  });

  describe('retention', () => {
    it('purges calls, their cards and feedback older than the cut-off, and nothing newer', async () => {
      const p = await engine.create();
      const ps = await SqlStore.open(p.connect());
      try {
        const old = call({ at: 0, rules: [['low-ccr', 'fired']], cards: [{ ruleId: 'low-ccr' }] });
        const recent = call({ at: 10 * DAY, rules: [['low-ccr', 'fired']], cards: [{ ruleId: 'low-ccr' }] });
        await ps.recordCall(old);
        await ps.recordCall(recent);
        await ps.recordFeedback([
          feedbackOn(firstCard(old), 'overridden', HOUR, 'not-relevant'),
          feedbackOn(firstCard(recent), 'accepted', 10 * DAY + HOUR),
        ]);
        expect(await ps.purge(at(5 * DAY), at(10 * DAY))).toEqual({ calls: 1, cards: 1, feedback: 1, jtis: 0 });
        expect([...(await ps.findCards([firstCard(old).cardUuid, firstCard(recent).cardUuid])).keys()]).toEqual([
          firstCard(recent).cardUuid,
        ]);
        const r = await ps.report({ from: at(0), to: at(20 * DAY), interval: 'all' });
        expect(r.rules).toEqual([expect.objectContaining({ ruleId: 'low-ccr', fired: 1, accepted: 1, overridden: 0 })]);
        expect(await ps.purge(at(5 * DAY), at(10 * DAY))).toEqual({ calls: 0, cards: 0, feedback: 0, jtis: 0 });
      } finally {
        await ps.close();
        await p.drop();
      }
    });
  });

  describe('JWT replay cache', () => {
    it('remembers a jti until it expires, separately per issuer', async () => {
      const jti = randomUUID();
      expect(await store.rememberJti('https://ehr.example.org', jti, at(HOUR), at(0))).toBe(true);
      expect(await store.rememberJti('https://ehr.example.org', jti, at(HOUR), at(1000))).toBe(false);
      expect(await store.rememberJti('https://other.example.org', jti, at(HOUR), at(1000))).toBe(true);
      // Once expired it protects nothing (the token's own exp is past), and may be remembered afresh.
      expect(await store.rememberJti('https://ehr.example.org', jti, at(3 * HOUR), at(2 * HOUR))).toBe(true);
    });

    it('answers true exactly once when replicas race with the same jti', async () => {
      const jti = randomUUID();
      const others = [1, 2, 3, 4].map(() => db.connect());
      try {
        const stores = await Promise.all(others.map((e) => SqlStore.open(e)));
        const answers = await Promise.all(
          stores.map((s) => s.rememberJti('https://ehr.example.org', jti, at(HOUR), at(0))),
        );
        expect(answers.filter(Boolean)).toHaveLength(1);
      } finally {
        await Promise.all(others.map((e) => e.close()));
      }
    });

    it('purges expired jtis', async () => {
      const jti = randomUUID();
      await store.rememberJti('https://purge.example.org', jti, at(HOUR), at(0));
      const r = await store.purge(at(-1000 * DAY), at(2 * HOUR));
      expect(r.jtis).toBeGreaterThanOrEqual(1);
      expect(await store.rememberJti('https://purge.example.org', jti, at(3 * HOUR), at(2 * HOUR))).toBe(true);
    });
  });

  describe('reachability', () => {
    it('answers a ping while open and refuses once closed', async () => {
      const other = await SqlStore.open(db.connect());
      await expect(other.ping()).resolves.toBeUndefined();
      await other.close();
      await expect(other.ping()).rejects.toThrow();
    });

    if (engine.name === 'sqlite') {
      it('stops answering pings when its database file is deleted from under it', async () => {
        const d = await freshDataDir();
        const s = await SqlStore.open(openSqlite(d.dir));
        try {
          await expect(s.ping()).resolves.toBeUndefined();
          fs.rmSync(path.join(d.dir, SQLITE_FILE_NAME));
          await expect(s.ping()).rejects.toThrow(/gone or was replaced/);
        } finally {
          await s.close();
          await d.drop();
        }
      });
    }
  });
});

describe('the replay cache over the store', () => {
  it('remembers issuer and jti as client authentication keys them, once until expiry', async () => {
    const d = await freshDataDir();
    const store = await SqlStore.open(openSqlite(d.dir));
    try {
      let now = T0;
      const cache = new StoreReplayCache(store, () => now);
      expect(await cache.remember('https://ehr.example.org\u0000jti-1', T0 + HOUR)).toBe(true);
      expect(await cache.remember('https://ehr.example.org\u0000jti-1', T0 + HOUR)).toBe(false);
      expect(await cache.remember('https://other.example.org\u0000jti-1', T0 + HOUR)).toBe(true);
      now = T0 + 2 * HOUR;
      expect(await cache.remember('https://ehr.example.org\u0000jti-1', T0 + 3 * HOUR)).toBe(true);
    } finally {
      await store.close();
      await d.drop();
    }
  });
});

describe.each([
  [
    'SQLite',
    () =>
      new Kysely<Database>({
        dialect: {
          createAdapter: () => new SqliteAdapter(),
          createDriver: () => new DummyDriver(),
          createIntrospector: (k) => new SqliteIntrospector(k),
          createQueryCompiler: () => new SqliteQueryCompiler(),
        },
      }),
  ],
  [
    'PostgreSQL',
    () =>
      new Kysely<Database>({
        dialect: {
          createAdapter: () => new PostgresAdapter(),
          createDriver: () => new DummyDriver(),
          createIntrospector: (k) => new PostgresIntrospector(k),
          createQueryCompiler: () => new PostgresQueryCompiler(),
        },
      }),
  ],
] as const)('statements compiled once per shape, for %s', (_name, kysely) => {
  const q = kysely();
  const jti = (iss: string, id: string, exp: number) => () =>
    q
      .insertInto('jwt_replay')
      .values({ iss, jti: id, expires_at: exp })
      .onConflict((oc) => oc.columns(['iss', 'jti']).doNothing());

  it('binds a later call’s values to the SQL of the first, exactly as Kysely compiles that call itself', () => {
    const shapes = new CompiledShapes();
    shapes.bind('jti', ['https://a.example.org', 'j-1', 1], jti('https://a.example.org', 'j-1', 1));
    const later = shapes.bind('jti', ['https://b.example.org', 'j-2', 2], () => {
      throw new Error('a known shape is not built again');
    });
    const own = jti('https://b.example.org', 'j-2', 2)().compile();
    expect({ sql: later.sql, parameters: later.parameters }).toEqual({ sql: own.sql, parameters: own.parameters });
  });

  it('refuses values listed in another order than the statement binds them', () => {
    const shapes = new CompiledShapes();
    expect(() =>
      shapes.bind('jti', ['j-1', 'https://a.example.org', 1], jti('https://a.example.org', 'j-1', 1)),
    ).toThrow(/not listed in the order/);
  });
});
