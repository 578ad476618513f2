import type { SqlEngine } from './engine';
import { MIGRATIONS } from './migrations';
import { openPostgres, type PostgresOptions } from './postgres';
import { SqlStore } from './sql-store';
import { openSqlite } from './sqlite';
import type { Store } from './types';

export interface StoreConfig {
  /** Where the embedded SQLite database lives (created on first start). */
  dataDir: string;
  /** postgres:// or postgresql://: use PostgreSQL instead, shared by every replica. */
  databaseUrl?: string;
  /** Pool size, timeouts and TLS of the PostgreSQL store (CROSSTALK_PG_*). */
  postgres?: PostgresOptions;
}

/**
 * Opens the configured store and brings its schema up to date. mustExist: refuse to create a new
 * SQLite database (a report run from the wrong directory should say so, not report on nothing).
 */
export async function openStore(c: StoreConfig, opts: { mustExist?: boolean } = {}): Promise<Store> {
  return SqlStore.open(openEngine(c, opts));
}

/** The configured database connection itself, before the store's schema is brought up to date. */
export function openEngine(c: StoreConfig, opts: { mustExist?: boolean } = {}): SqlEngine {
  return c.databaseUrl ? openPostgres(c.databaseUrl, c.postgres) : openSqlite(c.dataDir, opts);
}

/**
 * Brings the store's schema up to date and closes it: `crosstalk migrate`, the Kubernetes migration Job. The service
 * migrates at start-up as well (under the same lock), so this is the step that fails loudly, once, before a rollout.
 */
export async function migrateStore(c: StoreConfig): Promise<{ applied: string[]; latest: string }> {
  const engine = openEngine(c);
  try {
    const applied = await engine.migrate(MIGRATIONS);
    return { applied, latest: Object.keys(MIGRATIONS).sort().at(-1) ?? 'none' };
  } finally {
    await engine.close();
  }
}

/** Where the store is, for logs and messages: never the password of a database URL. */
export function describeStore(c: StoreConfig): string {
  if (!c.databaseUrl) return `SQLite in ${c.dataDir}`;
  try {
    const u = new URL(c.databaseUrl);
    return `PostgreSQL at ${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}
