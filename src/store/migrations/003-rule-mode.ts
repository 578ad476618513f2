import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { fromOldRunner } from './legacy';

/*
 * How each rule's card was delivered in a call (active, silent, pilot-in, pilot-out), so the governance report can
 * tell cards shown from cards a silent or pilot rule would have shown. Calls recorded before were all active.
 */
export const ruleMode: Migration = fromOldRunner(3, {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('rule_outcomes')
      .addColumn('mode', 'text', (c) => c.notNull().defaultTo('active'))
      .execute();
  },
});
