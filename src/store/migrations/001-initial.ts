import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { fromOldRunner } from './legacy';

/*
 * Types and statements that SQLite and PostgreSQL read the same way: times are BIGINT epoch milliseconds,
 * lists and maps are JSON text, flags are absent. Patient identity appears only as a keyed hash.
 */
export const initial: Migration = fromOldRunner(1, {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('service_calls')
      .addColumn('call_id', 'text', (c) => c.primaryKey())
      .addColumn('called_at', 'bigint', (c) => c.notNull())
      .addColumn('service_id', 'text', (c) => c.notNull())
      .addColumn('hook_instance', 'text')
      .addColumn('client_iss', 'text')
      .addColumn('patient_hash', 'text')
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('latency_ms', 'double precision', (c) => c.notNull())
      .addColumn('data_sources', 'text', (c) => c.notNull())
      .addColumn('partial_keys', 'text', (c) => c.notNull())
      .addColumn('measures', 'text', (c) => c.notNull())
      .addColumn('card_count', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('service_calls_by_time').on('service_calls').column('called_at').execute();

    await db.schema
      .createTable('rule_outcomes')
      .addColumn('call_id', 'text', (c) => c.notNull().references('service_calls.call_id'))
      .addColumn('rule_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason_codes', 'text', (c) => c.notNull())
      .addColumn('called_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('rule_outcomes_pkey', ['call_id', 'rule_id'])
      .execute();
    await db.schema
      .createIndex('rule_outcomes_by_time')
      .on('rule_outcomes')
      .columns(['called_at', 'rule_id'])
      .execute();

    await db.schema
      .createTable('issued_cards')
      .addColumn('card_uuid', 'text', (c) => c.primaryKey())
      .addColumn('call_id', 'text', (c) => c.notNull().references('service_calls.call_id'))
      .addColumn('service_id', 'text', (c) => c.notNull())
      .addColumn('rule_id', 'text', (c) => c.notNull())
      .addColumn('indicator', 'text', (c) => c.notNull())
      .addColumn('hook_instance', 'text')
      .addColumn('issued_at', 'bigint', (c) => c.notNull())
      .addColumn('suggestion_uuids', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('issued_cards_by_time').on('issued_cards').column('issued_at').execute();
    await db.schema.createIndex('issued_cards_by_call').on('issued_cards').column('call_id').execute();

    await db.schema
      .createTable('feedback')
      .addColumn('card_uuid', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('outcome_at', 'bigint', (c) => c.notNull())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('service_id', 'text', (c) => c.notNull())
      .addColumn('rule_id', 'text', (c) => c.notNull())
      .addColumn('call_id', 'text', (c) => c.notNull())
      .addColumn('card_issued_at', 'bigint', (c) => c.notNull())
      .addColumn('accepted_suggestions', 'text', (c) => c.notNull())
      .addColumn('override_system', 'text')
      .addColumn('override_code', 'text')
      .addColumn('override_display', 'text')
      .addColumn('override_comment', 'text')
      .addColumn('client_iss', 'text')
      .addPrimaryKeyConstraint('feedback_pkey', ['card_uuid', 'outcome', 'outcome_at'])
      .execute();
    await db.schema.createIndex('feedback_by_time').on('feedback').column('received_at').execute();
    await db.schema
      .createIndex('feedback_by_card_time')
      .on('feedback')
      .columns(['card_issued_at', 'rule_id'])
      .execute();

    await db.schema
      .createTable('jwt_replay')
      .addColumn('iss', 'text', (c) => c.notNull())
      .addColumn('jti', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('jwt_replay_pkey', ['iss', 'jti'])
      .execute();
    await db.schema.createIndex('jwt_replay_by_expiry').on('jwt_replay').column('expires_at').execute();
  },
});
