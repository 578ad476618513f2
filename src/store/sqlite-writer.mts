/*
 * The SQLite writer thread: its own connection, and group commit. The transactions asked for while the
 * previous commit was being written arrive together as one batch; each runs inside its own SAVEPOINT, all
 * under one COMMIT. A failing transaction rolls back to its savepoint and fails alone; the reply goes back
 * only after the COMMIT (and its fsync) returned.
 *
 * An ES module with only erasable TypeScript, so Node runs this very file as the worker's entry under tsx
 * and the test runner (Node strips the types), and tsc compiles it to sqlite-writer.mjs for dist/. It
 * imports nothing of ours: a worker's entry is loaded by Node, not by the loader that runs the rest.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface WriterData {
  file: string;
  pragmas: readonly string[];
}

/** One transaction: statements as Kysely compiled them for SQLite. */
export type WriterJob = readonly { sql: string; parameters: readonly unknown[] }[];

export interface FlatError {
  name: string;
  message: string;
  code?: string;
}

export type WriterResult = { counts: number[] } | { error: FlatError };

export type WriterReply = { type: 'done'; results: WriterResult[] } | { type: 'failed'; error: FlatError };

// Different statement texts stay few (a multi-row INSERT per row count); the bound only guards against surprises.
const PREPARED_MAX = 256;

function flat(e: unknown): FlatError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const code = (e as Error & { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
}

function run(port: NonNullable<typeof parentPort>, data: WriterData): void {
  let db: Database.Database;
  try {
    db = new Database(data.file);
    for (const p of data.pragmas) db.pragma(p);
  } catch (e) {
    port.postMessage({ type: 'failed', error: flat(e) } satisfies WriterReply);
    throw e;
  }
  const prepared = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let s = prepared.get(sql);
    if (!s) {
      if (prepared.size >= PREPARED_MAX) prepared.clear();
      s = db.prepare(sql);
      prepared.set(sql, s);
    }
    return s;
  };
  const batch = db.transaction((jobs: readonly WriterJob[]): WriterResult[] =>
    jobs.map((statements) => {
      prepare('SAVEPOINT job').run();
      try {
        const counts = statements.map((s) => prepare(s.sql).run(...s.parameters).changes);
        prepare('RELEASE job').run();
        return { counts };
      } catch (e) {
        prepare('ROLLBACK TO job').run();
        prepare('RELEASE job').run();
        return { error: flat(e) };
      }
    }),
  );
  port.on('message', (jobs: readonly WriterJob[]) => {
    let reply: WriterReply;
    try {
      // IMMEDIATE takes the write lock up front, so a reader turned writer (the CLI) cannot deadlock with us.
      reply = { type: 'done', results: batch.immediate(jobs) };
    } catch (e) {
      reply = { type: 'failed', error: flat(e) };
    }
    port.postMessage(reply);
  });
}

if (parentPort) run(parentPort, workerData as WriterData);
