import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/*
 * Before Kysely's Migrator, a hand-written runner applied migrations 1 to 3 and recorded them in
 * schema_migrations (version, name, applied_at). On such a database those must not run again: each one
 * looks in the old record, inside the Migrator's transaction and lock, and only records itself when the old
 * runner already applied it. The old table stays as it was, so older code still reads its own record.
 */
async function appliedByOldRunner(db: Kysely<unknown>, version: number): Promise<boolean> {
  const tables = await db.introspection.getTables();
  if (!tables.some((t) => t.name === 'schema_migrations')) return false;
  const old = db as unknown as Kysely<{ schema_migrations: { version: number } }>;
  const row = await old
    .selectFrom('schema_migrations')
    .select('version')
    .where('version', '=', version)
    .executeTakeFirst();
  return row !== undefined;
}

/** A migration the old runner knew as `version`: skipped where that runner already applied it. */
export function fromOldRunner(version: number, m: Migration): Migration {
  return {
    async up(db) {
      if (!(await appliedByOldRunner(db, version))) await m.up(db);
    },
  };
}
