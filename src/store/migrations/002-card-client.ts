import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { fromOldRunner } from './legacy';

/*
 * Which client a card was issued to (issuer and tenant), so feedback is taken only from that client. Cards
 * issued before this migration, or in development mode, have neither: feedback on them is taken only from a
 * caller without one.
 */
export const cardClient: Migration = fromOldRunner(2, {
  async up(db: Kysely<unknown>) {
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    await db.schema.alterTable('issued_cards').addColumn('client_iss', 'text').execute();
    await db.schema.alterTable('issued_cards').addColumn('client_tenant', 'text').execute();
  },
});
