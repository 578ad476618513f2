/*
 * The tables as the query builder sees them, once for both engines. Times are epoch milliseconds (BIGINT,
 * read back as numbers on both engines), lists and maps are JSON text, absent values are NULL. Patient identity
 * appears only as a keyed hash. The migrations under migrations/ create exactly these columns.
 */

export interface ServiceCallsTable {
  call_id: string;
  called_at: number;
  service_id: string;
  hook_instance: string | null;
  client_iss: string | null;
  patient_hash: string | null;
  status: number;
  latency_ms: number;
  data_sources: string;
  partial_keys: string;
  measures: string;
  card_count: number;
}

export interface RuleOutcomesTable {
  call_id: string;
  rule_id: string;
  status: string;
  reason_codes: string;
  called_at: number;
  /** Added by 003-rule-mode: active, silent, pilot-in or pilot-out (rows recorded before it read as active). */
  mode: string;
}

export interface IssuedCardsTable {
  card_uuid: string;
  call_id: string;
  service_id: string;
  rule_id: string;
  indicator: string;
  hook_instance: string | null;
  issued_at: number;
  suggestion_uuids: string;
  /** Added by 002-card-client: NULL on cards issued before it, or in development mode. */
  client_iss: string | null;
  client_tenant: string | null;
}

export interface FeedbackTable {
  card_uuid: string;
  outcome: string;
  outcome_at: number;
  received_at: number;
  service_id: string;
  rule_id: string;
  call_id: string;
  card_issued_at: number;
  accepted_suggestions: string;
  override_system: string | null;
  override_code: string | null;
  override_display: string | null;
  override_comment: string | null;
  /** JSON: every reason of the entry, when more than the override_* columns hold (migration 004). */
  override_reasons: string | null;
  client_iss: string | null;
}

export interface JwtReplayTable {
  iss: string;
  jti: string;
  expires_at: number;
}

/** Kysely's own record of applied migrations (see engine.ts). */
export interface KyselyMigrationTable {
  name: string;
  timestamp: string;
}

/** The record the hand-written runner kept before Kysely's migrator (Crosstalk up to the Kysely store); read, never written. */
export interface LegacySchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface Database {
  service_calls: ServiceCallsTable;
  rule_outcomes: RuleOutcomesTable;
  issued_cards: IssuedCardsTable;
  feedback: FeedbackTable;
  jwt_replay: JwtReplayTable;
  kysely_migration: KyselyMigrationTable;
  schema_migrations: LegacySchemaMigrationsTable;
}
