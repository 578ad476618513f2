import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

/** A new, empty PostgreSQL database on the test server (test/support/postgres-cluster.ts), dropped by drop(). */
export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = inject('postgresAdminUrl');
  const name = `crosstalk_test_${randomBytes(6).toString('hex')}`;
  const exec = async (sql: string) => {
    const c = new pg.Client({ connectionString: admin });
    // A dropped connection rejects the query in progress; without a listener it would also end the test worker.
    c.on('error', () => undefined);
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await exec(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** A new, empty data directory for a SQLite store, removed by drop(). */
export async function freshDataDir(): Promise<{ dir: string; drop: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-store-'));
  return { dir, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}
