import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS_TABLE_SQL, type Migration, type SqlEngine, type SqlValue, type Statement, pendingMigrations } from './engine';

export const SQLITE_FILE_NAME = 'crosstalk.db';

/**
 * The embedded engine: one better-sqlite3 connection to a file in the data directory.
 *
 * WAL lets the CLI read while the service writes. synchronous=FULL makes every commit fsync the WAL:
 * NORMAL would survive the process being killed (the WAL write reaches the OS before commit returns)
 * but can lose the newest commits on power loss or an OS crash, and a 2xx for feedback promises it
 * survives a crash. better-sqlite3 is synchronous, so a transaction runs start to end without any other
 * request's statement in between.
 */
export interface SqliteOptions {
  /** Refuse to create the database: it must already be there. */
  mustExist?: boolean;
  /** Only for measuring what FULL costs (bench/store.bench.ts); the service always uses FULL. */
  synchronous?: 'FULL' | 'NORMAL';
}

export function openSqlite(dataDir: string, opts: SqliteOptions = {}): SqlEngine {
  const file = path.resolve(dataDir, SQLITE_FILE_NAME);
  if (opts.mustExist && !fs.existsSync(file)) throw new Error(`there is no Crosstalk database at ${file}`);
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  // Another process (the CLI) may hold the write lock for a moment.
  db.pragma('busy_timeout = 5000');
  const inode = fs.statSync(file).ino;

  const prepared = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let s = prepared.get(sql);
    if (!s) {
      s = db.prepare(sql);
      prepared.set(sql, s);
    }
    return s;
  };

  const run = db.transaction((statements: readonly Statement[]) => statements.map((s) => prepare(s.sql).run(...(s.params ?? [])).changes));

  return {
    kind: 'sqlite',
    async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      return prepare(sql).all(...params) as T[];
    },
    async transaction(statements) {
      // IMMEDIATE takes the write lock up front, so a concurrent reader-turned-writer cannot deadlock us.
      return run.immediate(statements);
    },
    async migrate(migrations: readonly Migration[]) {
      const applied: number[] = [];
      db.transaction(() => {
        db.exec(MIGRATIONS_TABLE_SQL);
        const done = (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version);
        for (const m of pendingMigrations(migrations, done)) {
          db.exec(m.sql);
          db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
          applied.push(m.version);
        }
      }).immediate();
      return applied;
    },
    async ping() {
      db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get();
      // A deleted or replaced database file would take every later write with it at the next restart.
      let now: number | undefined;
      try {
        now = fs.statSync(file).ino;
      } catch {
        now = undefined;
      }
      if (now !== inode) throw new Error(`the SQLite database file ${file} is gone or was replaced`);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
