import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite, SQLITE_FILE_NAME } from './sqlite';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function fresh() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-sqlite-'));
  dirs.push(dir);
  const db = openSqlite(dir);
  return { dir, db };
}

/** What another connection (another process, after a crash) would find in the file. */
function rowsSeenByAnotherConnection(dir: string): string[] {
  const other = new Database(path.join(dir, SQLITE_FILE_NAME), { readonly: true });
  try {
    return (other.prepare('SELECT v FROM t ORDER BY v').all() as { v: string }[]).map((r) => r.v);
  } finally {
    other.close();
  }
}

describe('the SQLite engine’s group commit', () => {
  it('commits transactions asked for together, and each resolves only once its rows are in the file', async () => {
    const { dir, db } = fresh();
    await db.transaction([CompiledQuery.raw('CREATE TABLE t (v TEXT PRIMARY KEY)')]);
    const seenAtResolve: string[][] = [];
    const writes = ['a', 'b', 'c'].map((v) =>
      db.transaction([CompiledQuery.raw('INSERT INTO t (v) VALUES (?)', [v])]).then((counts) => {
        seenAtResolve.push(rowsSeenByAnotherConnection(dir));
        return counts;
      }),
    );
    expect(await Promise.all(writes)).toEqual([[1], [1], [1]]);
    for (const seen of seenAtResolve) expect(seen).toEqual(['a', 'b', 'c']);
    await db.close();
  });

  it('rolls back and rejects only the transaction that failed, keeping the others in the same batch', async () => {
    const { dir, db } = fresh();
    await db.transaction([CompiledQuery.raw('CREATE TABLE t (v TEXT PRIMARY KEY)')]);
    const results = await Promise.allSettled([
      db.transaction([CompiledQuery.raw('INSERT INTO t (v) VALUES (?)', ['kept-1'])]),
      // Its first insert succeeds and its second breaks the key: neither may stay.
      db.transaction([
        CompiledQuery.raw('INSERT INTO t (v) VALUES (?)', ['half-done']),
        CompiledQuery.raw('INSERT INTO t (v) VALUES (?)', ['kept-1']),
      ]),
      db.transaction([CompiledQuery.raw('INSERT OR IGNORE INTO t (v) VALUES (?)', ['kept-1'])]),
      db.transaction([CompiledQuery.raw('INSERT INTO t (v) VALUES (?)', ['kept-2'])]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    // Later transactions in the batch see the earlier ones' rows, as if they had run one after another.
    expect(results[2]).toEqual({ status: 'fulfilled', value: [0] });
    expect(rowsSeenByAnotherConnection(dir)).toEqual(['kept-1', 'kept-2']);
    await db.close();
  });

  it('writes what was asked for before close instead of dropping it', async () => {
    const { dir, db } = fresh();
    await db.transaction([CompiledQuery.raw('CREATE TABLE t (v TEXT PRIMARY KEY)')]);
    const pending = db.transaction([CompiledQuery.raw('INSERT INTO t (v) VALUES (?)', ['last'])]);
    await db.close();
    await expect(pending).resolves.toEqual([1]);
    expect(rowsSeenByAnotherConnection(dir)).toEqual(['last']);
    await expect(db.transaction([CompiledQuery.raw('INSERT INTO t (v) VALUES (?)', ['late'])])).rejects.toThrow(
      /not open/,
    );
  });
});
