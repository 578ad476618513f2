import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import { type Migration, migrateToLatest, type SqlEngine } from './engine';
import type { Database as Tables } from './schema';
import type { FlatError, WriterData, WriterJob, WriterReply } from './sqlite-writer.mjs';

export const SQLITE_FILE_NAME = 'crosstalk.db';

/**
 * The embedded engine: better-sqlite3 connections to a file in the data directory, one here (through Kysely)
 * for reads and migrations, one in a writer thread (sqlite-writer.mts) for every other write.
 *
 * WAL lets the CLI read while the service writes. synchronous=FULL makes every commit fsync the WAL:
 * NORMAL would survive the process being killed (the WAL write reaches the OS before commit returns)
 * but can lose the newest commits on power loss or an OS crash, and a 2xx for feedback promises it
 * survives a crash.
 *
 * Writes go to the writer thread and are group-committed there (see sqlite-writer.mts): the fsync,
 * milliseconds on a busy disk, thus never stops the event loop, and one covers every call that arrived
 * meanwhile (bench/store.bench.ts, bench/patient-view.bench.ts). Reads stay on this thread's connection: WAL
 * shows them every committed write.
 */
export interface SqliteOptions {
  /** Refuse to create the database: it must already be there. */
  mustExist?: boolean;
  /** Only for measuring what FULL costs (bench/store.bench.ts); the service always uses FULL. */
  synchronous?: 'FULL' | 'NORMAL';
}

// The worker runs this file as it is: the .mts source under tsx and the test runner, the compiled .mjs from dist/.
const WRITER_ENTRY = path.join(__dirname, __filename.endsWith('.ts') ? 'sqlite-writer.mts' : 'sqlite-writer.mjs');

/** Migration transactions take the write lock up front, so two processes migrating one file wait in turn. */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** Kysely's SQLite adapter, with the migrations run in one transaction (SQLite's DDL is transactional). */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class CrosstalkSqliteDialect extends SqliteDialect {
  constructor(private readonly config: SqliteDialectConfig) {
    super(config);
  }
  override createDriver() {
    return new ImmediateSqliteDriver(this.config);
  }
  override createAdapter() {
    return new TransactionalDdlSqliteAdapter();
  }
}

/*
 * Connections to one file in this process migrate one after another: better-sqlite3 waits for a lock
 * synchronously, so a second connection waiting here would stop the first one from ever finishing.
 */
const migrating = new Map<string, Promise<unknown>>();

interface Job {
  statements: WriterJob;
  resolve(counts: number[]): void;
  reject(e: unknown): void;
}

function toError(f: FlatError): Error {
  const e = new Error(f.message);
  e.name = f.name;
  if (f.code) (e as Error & { code?: string }).code = f.code;
  return e;
}

/** The writer thread, seen from here: submit a list of transactions, get each one's outcome after the commit. */
function startWriter(data: WriterData) {
  // No parent flags (tsx's loader, the test runner's): the entry is plain JavaScript once its types are stripped.
  const worker = new Worker(WRITER_ENTRY, { workerData: data, execArgv: [] });
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
    submit(statements: WriterJob): Promise<number[]> {
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
  const pragmas = [
    'journal_mode = WAL',
    `synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`,
    'foreign_keys = ON',
    'busy_timeout = 5000',
  ];
  const conn = new Database(file);
  for (const p of pragmas) conn.pragma(p);
  const inode = fs.statSync(file).ino;
  const db = new Kysely<Tables>({ dialect: new CrosstalkSqliteDialect({ database: conn }) });
  const writer = startWriter({ file, pragmas });
  let closed = false;

  return {
    kind: 'sqlite',
    db,
    transaction(statements) {
      // Kysely freezes a compiled query's parameters, and V8 serialises a frozen array for postMessage on a slower
      // path (about twice the CPU of a plain array's in a micro-benchmark): send copies.
      return writer.submit(statements.map((s) => ({ sql: s.sql, parameters: [...s.parameters] })));
    },
    migrate(migrations: Readonly<Record<string, Migration>>) {
      const run = (migrating.get(file) ?? Promise.resolve())
        .catch(() => undefined)
        .then(() => migrateToLatest(db, migrations));
      migrating.set(file, run);
      return run.finally(() => {
        if (migrating.get(file) === run) migrating.delete(file);
      });
    },
    async ping() {
      if (closed) throw new TypeError('The database connection is not open');
      // A read of the file itself, not only of the connection.
      await db
        .selectFrom('kysely_migration')
        .select((eb) => eb.fn.countAll().as('n'))
        .execute();
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
      if (!closed) {
        closed = true;
        await db.destroy();
      }
    },
  };
}
