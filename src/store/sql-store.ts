import { type Compilable, CompiledQuery, type Kysely, type RawBuilder, sql } from 'kysely';
import { DAY_MS } from '../clinical';
import type { SqlEngine } from './engine';
import { MIGRATIONS } from './migrations';
import type { Database } from './schema';
import type {
  AuditCall,
  FeedbackEntry,
  FeedbackResult,
  GovernanceReport,
  IssuedCard,
  OverrideReasonCount,
  PurgeResult,
  ReportQuery,
  RuleDelivery,
  RuleReport,
  Store,
} from './types';

const INTERVAL_MS = { day: DAY_MS, week: 7 * DAY_MS } as const;
// Stays under SQLite's and PostgreSQL's limits on bound parameters per statement.
const IN_CHUNK = 500;

const json = (v: unknown): string => JSON.stringify(v);
type SqlValue = string | number | null;

const opt = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

const CARD_COLUMNS = [
  'card_uuid',
  'call_id',
  'service_id',
  'rule_id',
  'indicator',
  'hook_instance',
  'issued_at',
  'suggestion_uuids',
  'client_iss',
  'client_tenant',
] as const;

type CardRow = Database['issued_cards'];

function cardFromRow(r: CardRow): IssuedCard {
  return {
    cardUuid: r.card_uuid,
    callId: r.call_id,
    serviceId: r.service_id,
    ruleId: r.rule_id,
    indicator: r.indicator,
    ...(r.hook_instance !== null ? { hookInstance: r.hook_instance } : {}),
    issuedAt: new Date(Number(r.issued_at)),
    suggestionUuids: JSON.parse(r.suggestion_uuids) as string[],
    ...(r.client_iss !== null ? { clientIss: r.client_iss } : {}),
    ...(r.client_tenant !== null ? { clientTenant: r.client_tenant } : {}),
  };
}

/**
 * Kysely builds and compiles a statement in tens of microseconds, a good part of what a whole CDS call costs in
 * CPU, while the SQL of each statement on the call and feedback paths depends only on its shape (which statement,
 * how many rows). Each shape is compiled by Kysely once, from the first call's values; later calls bind their own
 * values to that SQL. Callers list the values in the order the statement binds them, and that first compile checks
 * that they do, so a wrong order fails at once rather than storing a value in the wrong column.
 */
export class CompiledShapes {
  private readonly sqlByShape = new Map<string, string>();

  constructor(private readonly max = 1000) {}

  bind(shape: string, values: readonly SqlValue[], build: () => Compilable): CompiledQuery {
    const known = this.sqlByShape.get(shape);
    if (known !== undefined) return CompiledQuery.raw(known, [...values]);
    const q = build().compile();
    if (q.parameters.length !== values.length || q.parameters.some((p, i) => p !== values[i])) {
      throw new Error(`statement ${shape}: its values are not listed in the order it binds them`);
    }
    if (this.sqlByShape.size >= this.max) this.sqlByShape.clear();
    this.sqlByShape.set(shape, q.sql);
    return q;
  }
}

/** The store, once, over either engine: every query is built once and Kysely writes it for SQLite or PostgreSQL. */
export class SqlStore implements Store {
  private readonly q: Kysely<Database>;
  private readonly shapes = new CompiledShapes();

  private constructor(private readonly db: SqlEngine) {
    this.q = db.db;
  }

  get engine(): 'sqlite' | 'postgres' {
    return this.db.kind;
  }

  /** Opens the store, applying any migrations this database has not had yet. */
  static async open(db: SqlEngine): Promise<SqlStore> {
    try {
      await db.migrate(MIGRATIONS);
    } catch (e) {
      await db.close().catch(() => undefined);
      throw e;
    }
    return new SqlStore(db);
  }

  async recordCall(c: AuditCall): Promise<void> {
    const at = c.calledAt.getTime();
    const call = {
      call_id: c.callId,
      called_at: at,
      service_id: c.serviceId,
      hook_instance: opt(c.hookInstance),
      client_iss: opt(c.clientIss),
      patient_hash: opt(c.patientHash),
      status: c.status,
      latency_ms: c.latencyMs,
      data_sources: json(c.dataSources),
      partial_keys: json(c.partialKeys),
      measures: json(c.measures),
      card_count: c.cards.length,
    };
    const statements = [
      this.shapes.bind('call', Object.values(call), () => this.q.insertInto('service_calls').values(call)),
    ];
    // One multi-row INSERT per table rather than a statement per row: on PostgreSQL each statement is a round trip.
    const rules = c.rules.map((r) => ({
      call_id: c.callId,
      rule_id: r.ruleId,
      status: r.status,
      reason_codes: json(r.reasonCodes),
      called_at: at,
      mode: r.mode ?? 'active',
    }));
    if (rules.length)
      statements.push(
        this.shapes.bind(`rules×${rules.length}`, rules.flatMap(Object.values), () =>
          this.q.insertInto('rule_outcomes').values(rules),
        ),
      );
    const cards = c.cards.map((k) => ({
      card_uuid: k.cardUuid,
      call_id: c.callId,
      service_id: k.serviceId,
      rule_id: k.ruleId,
      indicator: k.indicator,
      hook_instance: opt(k.hookInstance),
      issued_at: k.issuedAt.getTime(),
      suggestion_uuids: json(k.suggestionUuids),
      client_iss: opt(k.clientIss),
      client_tenant: opt(k.clientTenant),
    }));
    if (cards.length)
      statements.push(
        this.shapes.bind(`cards×${cards.length}`, cards.flatMap(Object.values), () =>
          this.q.insertInto('issued_cards').values(cards),
        ),
      );
    await this.db.transaction(statements);
  }

  async findCards(uuids: string[]): Promise<Map<string, IssuedCard>> {
    const unique = [...new Set(uuids)];
    const out = new Map<string, IssuedCard>();
    for (let i = 0; i < unique.length; i += IN_CHUNK) {
      const chunk = unique.slice(i, i + IN_CHUNK);
      const query = this.shapes.bind(`find×${chunk.length}`, chunk, () =>
        this.q.selectFrom('issued_cards').select(CARD_COLUMNS).where('card_uuid', 'in', chunk),
      );
      const { rows } = await this.q.executeQuery<CardRow>(query);
      for (const r of rows) out.set(r.card_uuid, cardFromRow(r));
    }
    return out;
  }

  async recordFeedback(entries: FeedbackEntry[]): Promise<FeedbackResult> {
    if (!entries.length) return { stored: 0, duplicates: 0, isNew: [] };
    const counts = await this.db.transaction(
      entries.map((e) => {
        const row = {
          card_uuid: e.cardUuid,
          outcome: e.outcome,
          outcome_at: e.outcomeAt.getTime(),
          received_at: e.receivedAt.getTime(),
          service_id: e.serviceId,
          rule_id: e.ruleId,
          call_id: e.callId,
          card_issued_at: e.cardIssuedAt.getTime(),
          accepted_suggestions: json(e.acceptedSuggestions),
          override_system: opt(e.overrideReason?.system),
          override_code: opt(e.overrideReason?.code),
          override_display: opt(e.overrideReason?.display),
          override_comment: opt(e.overrideReason?.comment),
          override_reasons: e.overrideReasons?.length ? json(e.overrideReasons) : null,
          client_iss: opt(e.clientIss),
        };
        return this.shapes.bind('feedback', Object.values(row), () =>
          this.q
            .insertInto('feedback')
            .values(row)
            // Idempotent on card + outcome + timestamp: a repeat, in this call or a later one, changes nothing.
            .onConflict((oc) => oc.columns(['card_uuid', 'outcome', 'outcome_at']).doNothing()),
        );
      }),
    );
    const isNew = counts.map((n) => n > 0);
    const stored = isNew.filter(Boolean).length;
    return { stored, duplicates: entries.length - stored, isNew };
  }

  async report(q: ReportQuery): Promise<GovernanceReport> {
    const from = q.from.getTime();
    const to = q.to.getTime();
    if (!(to > from)) throw new RangeError('the report period must end after it starts');
    const width = q.interval === 'all' ? to - from : INTERVAL_MS[q.interval];
    const top = q.topReasons ?? 3;
    // Periods are fixed-width UTC buckets counted from `from`. The casts make the division an integer one in
    // SQLite too, which binds JavaScript numbers as REAL.
    const bucket = (time: RawBuilder<number>) =>
      sql<number>`(${time} - CAST(${from} AS BIGINT)) / CAST(${width} AS BIGINT)`;

    // Reason codes are grouped as the JSON text they are stored in and split here: a handful of distinct lists.
    const outcomes = await this.q
      .selectFrom((db) =>
        db
          .selectFrom('rule_outcomes')
          .select([bucket(sql.ref('called_at')).as('bucket'), 'rule_id', 'status', 'mode', 'reason_codes'])
          .where('called_at', '>=', from)
          .where('called_at', '<', to)
          .as('t'),
      )
      .select((eb) => ['bucket', 'rule_id', 'status', 'mode', 'reason_codes', eb.fn.countAll<number>().as('n')])
      .groupBy(['bucket', 'rule_id', 'status', 'mode', 'reason_codes'])
      .execute();

    // A card's answer is its latest feedback: a clinician who overrides and later accepts counts once, as accepted.
    const feedback = await this.q
      .with('latest', (db) =>
        db
          .selectFrom('feedback')
          .select((eb) => [
            'rule_id',
            'card_issued_at',
            'outcome',
            'override_system',
            'override_code',
            'override_display',
            eb.fn
              .agg<number>('row_number')
              .over((ob) =>
                ob
                  .partitionBy('card_uuid')
                  .orderBy('outcome_at', 'desc')
                  .orderBy('received_at', 'desc')
                  .orderBy('outcome'),
              )
              .as('rn'),
          ])
          .where('card_issued_at', '>=', from)
          .where('card_issued_at', '<', to),
      )
      .selectFrom((db) =>
        db
          .selectFrom('latest')
          .select([
            bucket(sql.ref('card_issued_at')).as('bucket'),
            'rule_id',
            'outcome',
            'override_system',
            'override_code',
            'override_display',
          ])
          .where('rn', '=', 1)
          .as('t'),
      )
      .select((eb) => [
        'bucket',
        'rule_id',
        'outcome',
        'override_system',
        'override_code',
        'override_display',
        eb.fn.countAll<number>().as('n'),
      ])
      .groupBy(['bucket', 'rule_id', 'outcome', 'override_system', 'override_code', 'override_display'])
      .execute();

    // Median without percentile functions (SQLite has none): the middle one or two rows of each ordered group.
    const medians = await this.q
      .with('fired', (db) =>
        db
          .selectFrom('rule_outcomes as o')
          .innerJoin('service_calls as c', 'c.call_id', 'o.call_id')
          .select([bucket(sql.ref('o.called_at')).as('bucket'), 'o.rule_id', 'c.latency_ms'])
          .where('o.status', '=', 'fired')
          .where('o.called_at', '>=', from)
          .where('o.called_at', '<', to),
      )
      .with('ranked', (db) =>
        db.selectFrom('fired').select((eb) => [
          'bucket',
          'rule_id',
          'latency_ms',
          eb.fn
            .agg<number>('row_number')
            .over((ob) => ob.partitionBy(['bucket', 'rule_id']).orderBy('latency_ms'))
            .as('rn'),
          eb.fn
            .countAll<number>()
            .over((ob) => ob.partitionBy(['bucket', 'rule_id']))
            .as('n'),
        ]),
      )
      .selectFrom('ranked')
      .select((eb) => ['bucket', 'rule_id', eb.fn.avg<number>('latency_ms').as('median_ms')])
      .where((eb) => eb.or([eb('rn', '=', sql<number>`(n + 1) / 2`), eb('rn', '=', sql<number>`(n + 2) / 2`)]))
      .groupBy(['bucket', 'rule_id'])
      .execute();

    const rows = new Map<string, RuleReport & { reasons: OverrideReasonCount[] }>();
    const row = (bucket: number, ruleId: string) => {
      const b = Number(bucket);
      const key = `${String(b).padStart(8, '0')}\u0000${ruleId}`;
      let r = rows.get(key);
      if (!r) {
        const start = from + b * width;
        r = {
          periodStart: new Date(start).toISOString(),
          periodEnd: new Date(Math.min(start + width, to)).toISOString(),
          ruleId,
          calls: 0,
          callsByMode: {},
          fired: 0,
          firedPer1000Calls: 0,
          wouldHaveShown: 0,
          wouldHaveShownPer1000Calls: 0,
          suppressed: 0,
          suppressionReasons: [],
          accepted: 0,
          overridden: 0,
          topOverrideReasons: [],
          reasons: [],
        };
        rows.set(key, r);
      }
      return r;
    };
    const suppressions = new Map<RuleReport, Map<string, number>>();
    for (const o of outcomes) {
      const r = row(o.bucket, o.rule_id);
      const n = Number(o.n);
      const mode = o.mode as RuleDelivery;
      r.calls += n;
      r.callsByMode[mode] = (r.callsByMode[mode] ?? 0) + n;
      const shown = mode === 'active' || mode === 'pilot-in';
      if (o.status === 'fired' && shown) r.fired += n;
      if (o.status === 'fired' && !shown) r.wouldHaveShown += n;
      if (o.status === 'suppressed') {
        r.suppressed += n;
        const byCode = suppressions.get(r) ?? new Map<string, number>();
        suppressions.set(r, byCode);
        for (const code of new Set(JSON.parse(o.reason_codes) as string[]))
          byCode.set(code, (byCode.get(code) ?? 0) + n);
      }
    }
    const per1000 = (part: number, whole: number) => (whole ? Math.round((1e4 * part) / whole) / 10 : 0);
    for (const r of rows.values()) {
      r.firedPer1000Calls = per1000(r.fired, r.calls);
      r.wouldHaveShownPer1000Calls = per1000(r.wouldHaveShown, r.calls);
      r.suppressionReasons = [...(suppressions.get(r) ?? [])]
        .map(([code, count]) => ({ code, count }))
        .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
    }
    for (const f of feedback) {
      const r = row(f.bucket, f.rule_id);
      const n = Number(f.n);
      if (f.outcome === 'accepted') r.accepted += n;
      else {
        r.overridden += n;
        r.reasons.push({
          ...(f.override_system !== null ? { system: f.override_system } : {}),
          ...(f.override_code !== null ? { code: f.override_code } : {}),
          ...(f.override_display !== null ? { display: f.override_display } : {}),
          count: n,
        });
      }
    }
    for (const m of medians) row(m.bucket, m.rule_id).medianLatencyMs = Number(m.median_ms);

    const rules = [...rows.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, { reasons, ...r }]) => ({
        ...r,
        topOverrideReasons: reasons
          .sort((a, b) => b.count - a.count || (a.code ?? '').localeCompare(b.code ?? ''))
          .slice(0, top),
      }));
    return { from: q.from.toISOString(), to: q.to.toISOString(), interval: q.interval, rules };
  }

  async purge(before: Date, now: Date = new Date()): Promise<PurgeResult> {
    const t = before.getTime();
    const [feedback = 0, cards = 0, , calls = 0, jtis = 0] = await this.db.transaction([
      this.q.deleteFrom('feedback').where('received_at', '<', t).compile(),
      this.q
        .deleteFrom('issued_cards')
        .where('call_id', 'in', (db) => db.selectFrom('service_calls').select('call_id').where('called_at', '<', t))
        .compile(),
      this.q.deleteFrom('rule_outcomes').where('called_at', '<', t).compile(),
      this.q.deleteFrom('service_calls').where('called_at', '<', t).compile(),
      this.q.deleteFrom('jwt_replay').where('expires_at', '<=', now.getTime()).compile(),
    ]);
    return { calls, cards, feedback, jtis };
  }

  async rememberJti(iss: string, jti: string, expiresAt: Date, now: Date = new Date()): Promise<boolean> {
    const cut = now.getTime();
    const exp = expiresAt.getTime();
    const [, inserted] = await this.db.transaction([
      // An expired entry no longer protects anything, so the same jti may be remembered afresh.
      this.shapes.bind('jti-expired', [iss, jti, cut], () =>
        this.q.deleteFrom('jwt_replay').where('iss', '=', iss).where('jti', '=', jti).where('expires_at', '<=', cut),
      ),
      this.shapes.bind('jti', [iss, jti, exp], () =>
        this.q
          .insertInto('jwt_replay')
          .values({ iss, jti, expires_at: exp })
          .onConflict((oc) => oc.columns(['iss', 'jti']).doNothing()),
      ),
    ]);
    return inserted === 1;
  }

  ping(): Promise<void> {
    return this.db.ping();
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
