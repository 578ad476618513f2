import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/*
 * Every override reason a feedback entry carried, as JSON, when there are more than the one in the override_*
 * columns (Epic sends a list, overrideReasons) or reasons came with an outcome that is not an override. Entries
 * recorded before carried at most the one.
 */
export const feedbackReasons: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('feedback').addColumn('override_reasons', 'text').execute();
  },
};
