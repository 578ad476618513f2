/*
 * The little SQL surface the store needs, implemented once per engine. Queries are written once, in
 * SQL that SQLite and PostgreSQL both accept, with `?` placeholders (the PostgreSQL engine numbers them).
 * Writes go in as a list of statements run in one transaction, so no other request's statement can
 * slip into it on a shared connection, and a write resolves only after its commit is durable.
 */

export type SqlValue = string | number | null;

export interface Statement {
  sql: string;
  params?: readonly SqlValue[];
}

export interface Migration {
  version: number;
  name: string;
  /** One or more statements, in the SQL both engines accept. */
  sql: string;
}

export interface SqlEngine {
  readonly kind: 'sqlite' | 'postgres';
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs the statements in one transaction; resolves with each one's changed-row count once the commit is durable. */
  transaction(statements: readonly Statement[]): Promise<number[]>;
  /** Applies the migrations not yet applied, each in its own transaction, under a lock; resolves with the versions applied now. */
  migrate(migrations: readonly Migration[]): Promise<number[]>;
  /** Throws unless the database answers (and, for a file, is still the file it opened). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Shared by both engines, so the bookkeeping of migrations is itself the same SQL everywhere. */
export const MIGRATIONS_TABLE_SQL =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)';

export function pendingMigrations(all: readonly Migration[], applied: readonly number[]): Migration[] {
  const done = new Set(applied.map(Number));
  const sorted = [...all].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (i > 0 && m.version === sorted[i - 1]?.version) throw new Error(`two migrations share version ${m.version}`);
  });
  const newest = Math.max(0, ...done);
  const known = new Set(sorted.map((m) => m.version));
  if (newest > 0 && !known.has(newest)) {
    // A database migrated by a newer Crosstalk: running older code on it could corrupt it.
    throw new Error(`the database is at schema version ${newest}, newer than this Crosstalk knows (${Math.max(0, ...known)})`);
  }
  return sorted.filter((m) => !done.has(m.version));
}
