import { execFile } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../src/store/migrations';
import { freshPostgresDatabase } from './support/databases';

const bin = path.resolve(__dirname, '../bin/crosstalk.js');

/** `crosstalk migrate` in a process of its own, with only the store settings (as the Kubernetes Job has them). */
function migrate(env: Record<string, string>): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, 'migrate'],
      { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('crosstalk migrate', () => {
  let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  beforeAll(async () => {
    db = await freshPostgresDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('brings an empty PostgreSQL database to the latest schema, and a second run finds nothing to do', async () => {
    const first = await migrate({ DATABASE_URL: db.url });
    expect(first.code, first.stderr).toBe(0);
    const names = Object.keys(MIGRATIONS).sort();
    expect(first.stderr).toContain(`applied ${names.join(', ')}`);

    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const rows = await c.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name');
      expect(rows.rows.map((r) => r.name)).toEqual(names);
      // The tables the service writes exist: the Job did the whole migration, not just its bookkeeping.
      const t = await c.query<{ n: string }>(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'service_calls'",
      );
      expect(Number(t.rows[0]?.n)).toBe(1);
    } finally {
      await c.end();
    }

    const again = await migrate({ DATABASE_URL: db.url });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`already at ${names.at(-1)}, nothing to apply`);
  }, 60_000);

  it('fails with exit 1 and names the store without its password when the database cannot be reached', async () => {
    // A port nothing listens on (a closed loopback port refuses at once).
    const r = await migrate({ DATABASE_URL: 'postgres://crosstalk:s3cret-pw@127.0.0.1:1/crosstalk' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot migrate the store \(PostgreSQL at 127\.0\.0\.1:1\/crosstalk\)/);
    expect(r.stderr).not.toContain('s3cret-pw');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
