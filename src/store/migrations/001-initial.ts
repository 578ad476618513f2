import type { Migration } from '../engine';

/*
 * Times are epoch milliseconds (BIGINT), lists and maps are JSON text, flags are absent: types and
 * statements that SQLite and PostgreSQL read the same way. Patient identity appears only as a keyed hash.
 */
export const initial: Migration = {
  version: 1,
  name: 'audit, issued cards, feedback, JWT replay cache',
  sql: `
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
`,
};
