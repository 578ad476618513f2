import type { CompiledQuery, Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { Migrator } from 'kysely/migration';
import type { Database } from './schema';

/*
 * What the store needs of a database, once per engine. Queries are built with Kysely, which writes each
 * engine's SQL (placeholders, quoting) from one description. Writes go in as a list of compiled statements run
 * in one transaction, so no other request's statement can slip into it, and a write resolves only after its
 * commit is durable. Schema changes are Kysely migrations, applied by Kysely's Migrator under its lock.
 */

export type { Migration };

export interface SqlEngine {
  readonly kind: 'sqlite' | 'postgres';
  /** The query builder over this database: reads, and statements to compile for transaction(). */
  readonly db: Kysely<Database>;
  /** Runs the statements in one transaction; resolves with each one's changed-row count once the commit is durable. */
  transaction(statements: readonly CompiledQuery[]): Promise<number[]>;
  /** Applies the migrations this database has not had yet, under a lock; resolves with the names applied now. */
  migrate(migrations: Readonly<Record<string, Migration>>): Promise<string[]>;
  /** Throws unless the database answers (and, for a file, is still the file it opened). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Kysely's Migrator over an in-code list: migrations are TypeScript modules, so the compiled service (dist/)
 * carries them without a copy step. Names sort in the order they apply ("001-…", "002-…").
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  migrations: Readonly<Record<string, Migration>>,
): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /previously executed migration (\S+) is missing/.exec(message);
    // A database migrated by a newer Crosstalk: running older code on it could corrupt it.
    if (unknown)
      throw new Error(
        `the database has had migration ${unknown[1]}, newer than this Crosstalk knows (${Object.keys(migrations).sort().at(-1) ?? 'none'})`,
      );
    throw error instanceof Error ? error : new Error(message);
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
