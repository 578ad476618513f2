import { MIGRATIONS } from './migrations';
import { openPostgres } from './postgres';
import { SqlStore } from './sql-store';
import { openSqlite } from './sqlite';
import type { Store } from './types';

export interface StoreConfig {
  /** Where the embedded SQLite database lives (created on first start). */
  dataDir: string;
  /** postgres:// or postgresql://: use PostgreSQL instead, shared by every replica. */
  databaseUrl?: string;
}

/**
 * Opens the configured store and brings its schema up to date. mustExist: refuse to create a new
 * SQLite database (a report run from the wrong directory should say so, not report on nothing).
 */
export async function openStore(c: StoreConfig, opts: { mustExist?: boolean } = {}): Promise<Store> {
  return SqlStore.open(c.databaseUrl ? openPostgres(c.databaseUrl) : openSqlite(c.dataDir, opts));
}

/**
 * Brings the store's schema up to date and closes it: `crosstalk migrate`, the Kubernetes migration Job. The service
 * migrates at start-up as well (under the same lock), so this is the step that fails loudly, once, before a rollout.
 */
export async function migrateStore(c: StoreConfig): Promise<{ applied: string[]; latest: string }> {
  const engine = c.databaseUrl ? openPostgres(c.databaseUrl) : openSqlite(c.dataDir);
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
