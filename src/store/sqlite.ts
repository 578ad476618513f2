import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { MIGRATIONS_TABLE_SQL, type Migration, type SqlEngine, type SqlValue, type Statement, pendingMigrations } from './engine';

export const SQLITE_FILE_NAME = 'crosstalk.db';

/**
 * The embedded engine: better-sqlite3 connections to a file in the data directory, one here for reads
 * and migrations, one in a writer thread for every other write.
 *
 * WAL lets the CLI read while the service writes. synchronous=FULL makes every commit fsync the WAL:
 * NORMAL would survive the process being killed (the WAL write reaches the OS before commit returns)
 * but can lose the newest commits on power loss or an OS crash, and a 2xx for feedback promises it
 * survives a crash. better-sqlite3 is synchronous, so a transaction runs start to end without any other
 * request's statement in between.
 *
 * Writes go to a writer thread with its own connection, and are group-committed there: the transactions
 * asked for while the previous commit was being written go together in the next one, each inside its
 * own SAVEPOINT, under one COMMIT. A failing transaction rolls back to its savepoint and rejects alone;
 * every promise resolves only after the COMMIT (and its fsync) returned. The fsync, milliseconds on a
 * busy disk, thus never stops the event loop, and one covers every call that arrived meanwhile
 * (bench/store.bench.ts, bench/patient-view.bench.ts). Reads stay on this thread's connection: WAL
 * shows them every committed write.
 */
export interface SqliteOptions {
  /** Refuse to create the database: it must already be there. */
  mustExist?: boolean;
  /** Only for measuring what FULL costs (bench/store.bench.ts); the service always uses FULL. */
  synchronous?: 'FULL' | 'NORMAL';
}

interface Job {
  statements: readonly Statement[];
  resolve(counts: number[]): void;
  reject(e: unknown): void;
}

interface FlatError {
  name: string;
  message: string;
  code?: string;
}

type WriterReply =
  | { type: 'done'; results: ({ counts: number[] } | { error: FlatError })[] }
  | { type: 'failed'; error: FlatError };

/*
 * The writer thread's program. Plain JavaScript run with `eval`, so the same text works under tsx, the
 * test runner and the compiled image alike; it knows nothing but statements and savepoints.
 */
const WRITER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const flat = (e) => ({ name: (e && e.name) || 'Error', message: String((e && e.message) || e), ...(e && typeof e.code === 'string' ? { code: e.code } : {}) });
let db;
try {
  db = new Database(workerData.file);
  for (const p of workerData.pragmas) db.pragma(p);
} catch (e) {
  parentPort.postMessage({ type: 'failed', error: flat(e) });
  throw e;
}
const prepared = new Map();
const prepare = (sql) => {
  let s = prepared.get(sql);
  if (!s) { s = db.prepare(sql); prepared.set(sql, s); }
  return s;
};
const batch = db.transaction((jobs) => jobs.map((statements) => {
  prepare('SAVEPOINT job').run();
  try {
    const counts = statements.map((s) => prepare(s.sql).run(...(s.params || [])).changes);
    prepare('RELEASE job').run();
    return { counts };
  } catch (e) {
    prepare('ROLLBACK TO job').run();
    prepare('RELEASE job').run();
    return { error: flat(e) };
  }
}));
parentPort.on('message', (jobs) => {
  let reply;
  try {
    // IMMEDIATE takes the write lock up front, so a reader turned writer (the CLI) cannot deadlock with us.
    reply = { type: 'done', results: batch.immediate(jobs) };
  } catch (e) {
    reply = { type: 'failed', error: flat(e) };
  }
  parentPort.postMessage(reply);
});
`;

function toError(f: FlatError): Error {
  const e = new Error(f.message);
  e.name = f.name;
  if (f.code) (e as Error & { code?: string }).code = f.code;
  return e;
}

/** The writer thread, seen from here: submit a list of transactions, get each one's outcome after the commit. */
function startWriter(file: string, pragmas: readonly string[]) {
  const worker = new Worker(WRITER_SOURCE, {
    eval: true,
    workerData: { file, pragmas, driver: require.resolve('better-sqlite3') },
    // The writer needs no loader hooks (tsx) and must not inherit the parent's flags.
    execArgv: [],
  });
  let queue: Job[] = [];
  let inFlight: Job[] | undefined;
  let scheduled = false;
  let dead: Error | undefined;
  let closing: (() => void) | undefined;
  // Keep the process alive only while a write is pending.
  worker.unref();

  const failAll = (e: Error) => {
    for (const job of [...(inFlight ?? []), ...queue]) job.reject(e);
    inFlight = undefined;
    queue = [];
  };
  const send = () => {
    scheduled = false;
    if (inFlight || !queue.length || dead) return;
    inFlight = queue;
    queue = [];
    worker.ref();
    worker.postMessage(inFlight.map((j) => j.statements));
  };
  worker.on('message', (m: WriterReply) => {
    const jobs = inFlight ?? [];
    inFlight = undefined;
    if (m.type === 'failed') {
      // The COMMIT itself failed (disk full, file gone, lock timeout): nothing of the batch is stored.
      for (const job of jobs) job.reject(toError(m.error));
    } else {
      jobs.forEach((job, i) => {
        const r = m.results[i];
        if (r && 'counts' in r) job.resolve(r.counts);
        else job.reject(r ? toError(r.error) : new Error('the writer returned no result'));
      });
    }
    if (queue.length) send();
    else {
      worker.unref();
      closing?.();
    }
  });
  worker.on('error', (e) => {
    dead = e instanceof Error ? e : new Error(String(e));
    failAll(dead);
  });
  worker.on('exit', (code) => {
    if (!dead) dead = new Error(`the SQLite writer stopped (exit code ${code})`);
    failAll(dead);
    closing?.();
  });

  return {
    submit(statements: readonly Statement[]): Promise<number[]> {
      return new Promise<number[]>((resolve, reject) => {
        if (dead) return reject(dead);
        queue.push({ statements, resolve, reject });
        // Gather what this turn of the event loop asks for; a commit in flight gathers the rest.
        if (!scheduled && !inFlight) {
          scheduled = true;
          setImmediate(send);
        }
      });
    },
    alive(): Error | undefined {
      return dead;
    },
    /** Writes what was asked for before close (never drops it), then stops the thread. */
    async close(): Promise<void> {
      if (dead) return;
      await new Promise<void>((resolve) => {
        closing = resolve;
        send();
        if (!inFlight && !queue.length) resolve();
      });
      dead = new TypeError('The database connection is not open');
      await worker.terminate();
    },
  };
}

export function openSqlite(dataDir: string, opts: SqliteOptions = {}): SqlEngine {
  const file = path.resolve(dataDir, SQLITE_FILE_NAME);
  if (opts.mustExist && !fs.existsSync(file)) throw new Error(`there is no Crosstalk database at ${file}`);
  fs.mkdirSync(dataDir, { recursive: true });
  // Both connections, this one and the writer's. Another process (the CLI) may hold the write lock for a moment.
  const pragmas = ['journal_mode = WAL', `synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`, 'foreign_keys = ON', 'busy_timeout = 5000'];
  const db = new Database(file);
  for (const p of pragmas) db.pragma(p);
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
  const writer = startWriter(file, pragmas);

  return {
    kind: 'sqlite',
    async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      return prepare(sql).all(...params) as T[];
    },
    transaction(statements) {
      return writer.submit(statements);
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
      const dead = writer.alive();
      if (dead) throw dead;
    },
    async close() {
      await writer.close();
      if (db.open) db.close();
    },
  };
}
