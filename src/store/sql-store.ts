import type { SqlEngine, SqlValue, Statement } from './engine';
import { MIGRATIONS } from './migrations';
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

const DAY_MS = 86_400_000;
const INTERVAL_MS = { day: DAY_MS, week: 7 * DAY_MS } as const;
// Stays under SQLite's and PostgreSQL's limits on bound parameters per statement.
const IN_CHUNK = 500;

const json = (v: unknown): string => JSON.stringify(v);
const opt = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

interface CardRow {
  card_uuid: string;
  call_id: string;
  service_id: string;
  rule_id: string;
  indicator: string;
  hook_instance: string | null;
  issued_at: number;
  suggestion_uuids: string;
  client_iss: string | null;
  client_tenant: string | null;
}

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

/** The store, once, over either engine: every query below runs unchanged on SQLite and PostgreSQL. */
export class SqlStore implements Store {
  private constructor(private readonly db: SqlEngine) {}

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
    const statements: Statement[] = [
      {
        sql: `INSERT INTO service_calls (call_id, called_at, service_id, hook_instance, client_iss, patient_hash, status, latency_ms,
                data_sources, partial_keys, measures, card_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        params: [c.callId, at, c.serviceId, opt(c.hookInstance), opt(c.clientIss), opt(c.patientHash), c.status, c.latencyMs,
          json(c.dataSources), json(c.partialKeys), json(c.measures), c.cards.length],
      },
      // One multi-row INSERT per table rather than a statement per row: on PostgreSQL each statement is a round trip.
      ...rows(
        'INSERT INTO rule_outcomes (call_id, rule_id, status, reason_codes, called_at, mode) VALUES',
        c.rules.map((r) => [c.callId, r.ruleId, r.status, json(r.reasonCodes), at, r.mode ?? 'active']),
      ),
      ...rows(
        'INSERT INTO issued_cards (card_uuid, call_id, service_id, rule_id, indicator, hook_instance, issued_at, suggestion_uuids, client_iss, client_tenant) VALUES',
        c.cards.map((k) => [k.cardUuid, c.callId, k.serviceId, k.ruleId, k.indicator, opt(k.hookInstance), k.issuedAt.getTime(), json(k.suggestionUuids), opt(k.clientIss), opt(k.clientTenant)]),
      ),
    ];
    await this.db.transaction(statements);
  }

  async findCards(uuids: string[]): Promise<Map<string, IssuedCard>> {
    const unique = [...new Set(uuids)];
    const out = new Map<string, IssuedCard>();
    for (let i = 0; i < unique.length; i += IN_CHUNK) {
      const chunk = unique.slice(i, i + IN_CHUNK);
      const rows = await this.db.all<CardRow>(
        `SELECT card_uuid, call_id, service_id, rule_id, indicator, hook_instance, issued_at, suggestion_uuids, client_iss, client_tenant
         FROM issued_cards WHERE card_uuid IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const r of rows) out.set(r.card_uuid, cardFromRow(r));
    }
    return out;
  }

  async recordFeedback(entries: FeedbackEntry[]): Promise<FeedbackResult> {
    if (!entries.length) return { stored: 0, duplicates: 0, isNew: [] };
    const counts = await this.db.transaction(
      entries.map((e) => ({
        // Idempotent on card + outcome + timestamp: a repeat, in this call or a later one, changes nothing.
        sql: `INSERT INTO feedback (card_uuid, outcome, outcome_at, received_at, service_id, rule_id, call_id, card_issued_at,
                accepted_suggestions, override_system, override_code, override_display, override_comment, client_iss)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (card_uuid, outcome, outcome_at) DO NOTHING`,
        params: [e.cardUuid, e.outcome, e.outcomeAt.getTime(), e.receivedAt.getTime(), e.serviceId, e.ruleId, e.callId, e.cardIssuedAt.getTime(),
          json(e.acceptedSuggestions), opt(e.overrideReason?.system), opt(e.overrideReason?.code), opt(e.overrideReason?.display),
          opt(e.overrideReason?.comment), opt(e.clientIss)],
      })),
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
    const range: SqlValue[] = [from, width, from, to];

    // Reason codes are grouped as the JSON text they are stored in and split here: a handful of distinct lists.
    const outcomes = await this.db.all<{ bucket: number; rule_id: string; status: string; mode: string; reason_codes: string; n: number }>(
      `SELECT bucket, rule_id, status, mode, reason_codes, COUNT(*) AS n
       FROM (SELECT (called_at - CAST(? AS BIGINT)) / CAST(? AS BIGINT) AS bucket, rule_id, status, mode, reason_codes
             FROM rule_outcomes WHERE called_at >= ? AND called_at < ?) t
       GROUP BY bucket, rule_id, status, mode, reason_codes`,
      range,
    );

    // A card's answer is its latest feedback: a clinician who overrides and later accepts counts once, as accepted.
    const feedback = await this.db.all<{
      bucket: number; rule_id: string; outcome: string; override_system: string | null; override_code: string | null; override_display: string | null; n: number;
    }>(
      `WITH latest AS (
         SELECT card_uuid, rule_id, card_issued_at, outcome, override_system, override_code, override_display,
                ROW_NUMBER() OVER (PARTITION BY card_uuid ORDER BY outcome_at DESC, received_at DESC, outcome) AS rn
         FROM feedback WHERE card_issued_at >= ? AND card_issued_at < ?
       )
       SELECT bucket, rule_id, outcome, override_system, override_code, override_display, COUNT(*) AS n
       FROM (SELECT (card_issued_at - CAST(? AS BIGINT)) / CAST(? AS BIGINT) AS bucket, rule_id, outcome, override_system, override_code, override_display
             FROM latest WHERE rn = 1) t
       GROUP BY bucket, rule_id, outcome, override_system, override_code, override_display`,
      [from, to, from, width],
    );

    // Median without percentile functions (SQLite has none): the middle one or two rows of each ordered group.
    const medians = await this.db.all<{ bucket: number; rule_id: string; median_ms: number }>(
      `WITH fired AS (
         SELECT (o.called_at - CAST(? AS BIGINT)) / CAST(? AS BIGINT) AS bucket, o.rule_id, c.latency_ms
         FROM rule_outcomes o JOIN service_calls c ON c.call_id = o.call_id
         WHERE o.status = 'fired' AND o.called_at >= ? AND o.called_at < ?
       ), ranked AS (
         SELECT bucket, rule_id, latency_ms,
                ROW_NUMBER() OVER (PARTITION BY bucket, rule_id ORDER BY latency_ms) AS rn,
                COUNT(*) OVER (PARTITION BY bucket, rule_id) AS n
         FROM fired
       )
       SELECT bucket, rule_id, AVG(latency_ms) AS median_ms
       FROM ranked WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2
       GROUP BY bucket, rule_id`,
      range,
    );

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
        for (const code of new Set(JSON.parse(o.reason_codes) as string[])) byCode.set(code, (byCode.get(code) ?? 0) + n);
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
        topOverrideReasons: reasons.sort((a, b) => b.count - a.count || (a.code ?? '').localeCompare(b.code ?? '')).slice(0, top),
      }));
    return { from: q.from.toISOString(), to: q.to.toISOString(), interval: q.interval, rules };
  }

  async purge(before: Date, now: Date = new Date()): Promise<PurgeResult> {
    const t = before.getTime();
    const [feedback = 0, cards = 0, , calls = 0, jtis = 0] = await this.db.transaction([
      { sql: 'DELETE FROM feedback WHERE received_at < ?', params: [t] },
      { sql: 'DELETE FROM issued_cards WHERE call_id IN (SELECT call_id FROM service_calls WHERE called_at < ?)', params: [t] },
      { sql: 'DELETE FROM rule_outcomes WHERE called_at < ?', params: [t] },
      { sql: 'DELETE FROM service_calls WHERE called_at < ?', params: [t] },
      { sql: 'DELETE FROM jwt_replay WHERE expires_at <= ?', params: [now.getTime()] },
    ]);
    return { calls, cards, feedback, jtis };
  }

  async rememberJti(iss: string, jti: string, expiresAt: Date, now: Date = new Date()): Promise<boolean> {
    const [, inserted] = await this.db.transaction([
      // An expired entry no longer protects anything, so the same jti may be remembered afresh.
      { sql: 'DELETE FROM jwt_replay WHERE iss = ? AND jti = ? AND expires_at <= ?', params: [iss, jti, now.getTime()] },
      { sql: 'INSERT INTO jwt_replay (iss, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT (iss, jti) DO NOTHING', params: [iss, jti, expiresAt.getTime()] },
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

/** `head (?, ?), (?, ?)…` for the given rows, or no statement at all when there are none. */
function rows(head: string, values: SqlValue[][]): Statement[] {
  if (!values.length) return [];
  return [{ sql: `${head} ${values.map((v) => `(${v.map(() => '?').join(', ')})`).join(', ')}`, params: values.flat() }];
}
