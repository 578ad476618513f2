import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresDatabase } from '../../test/support/databases';
import { loadConfig } from '../server/config';
import type { SqlEngine } from './engine';
import { openEngine, openStore } from './open';

/*
 * CROSSTALK_PG_* settings, from the environment through loadConfig and openStore's engine to a real PostgreSQL
 * server (test/support/postgres-cluster.ts): what the server itself reports, not what was passed to pg.
 */
let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
const engines: SqlEngine[] = [];
beforeAll(async () => {
  db = await freshPostgresDatabase();
});
afterAll(async () => {
  for (const e of engines) await e.close();
  await db?.drop();
});

function engineFor(env: Record<string, string>): SqlEngine {
  const e = openEngine(loadConfig({ DATABASE_URL: db.url, ...env }));
  engines.push(e);
  return e;
}

/** Runs one query on a connection of its own, outside the pool under test. */
async function probe<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url, application_name: 'crosstalk-probe' });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

describe('PostgreSQL settings', () => {
  it('apply CROSSTALK_PG_STATEMENT_TIMEOUT_MS as the server statement_timeout of every pooled connection', async () => {
    const e = engineFor({ CROSSTALK_PG_STATEMENT_TIMEOUT_MS: '700' });
    const shown = await sql<{ statement_timeout: string }>`SHOW statement_timeout`.execute(e.db);
    expect(shown.rows[0]?.statement_timeout).toBe('700ms');
    // The server cancels a statement that runs longer, and the connection serves the next one.
    await expect(sql`SELECT pg_sleep(3)`.execute(e.db)).rejects.toThrow(/statement timeout/);
    expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(e.db)).rows[0]?.one).toBe(1);
  });

  it('default to a 10 s statement timeout', async () => {
    const shown = await sql<{ statement_timeout: string }>`SHOW statement_timeout`.execute(engineFor({}).db);
    expect(shown.rows[0]?.statement_timeout).toBe('10s');
  });

  it('open no more connections than CROSSTALK_PG_POOL_MAX, however many queries wait', async () => {
    const e = engineFor({ CROSSTALK_PG_POOL_MAX: '2', CROSSTALK_PG_CONNECT_TIMEOUT_MS: '20000' });
    const started = Date.now();
    const sleeps = Array.from({ length: 6 }, () => sql`SELECT pg_sleep(0.4)`.execute(e.db));
    await new Promise((r) => setTimeout(r, 200));
    const open = await probe<{ n: number }>(
      // Other tests' pools may still hold idle connections here: count the statements running.
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()
         AND application_name = 'crosstalk' AND state = 'active' AND query LIKE '%pg_sleep(0.4)%'`,
    );
    await Promise.all(sleeps);
    expect(open[0]?.n).toBe(2);
    // Six 0.4 s statements two at a time take three rounds.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1150);
  });

  it('ask the server for TLS when CROSSTALK_PG_SSLMODE=require, and use it where the server offers it', async () => {
    const [{ ssl } = { ssl: 'off' }] = await probe<{ ssl: string }>('SHOW ssl');
    const e = engineFor({ CROSSTALK_PG_SSLMODE: 'require' });
    const inUse = sql<{ ssl: boolean }>`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`.execute(e.db);
    // The test cluster runs without TLS unless TEST_DATABASE_URL names one with it: then the request must be refused.
    if (ssl === 'on') expect((await inUse).rows[0]?.ssl).toBe(true);
    else await expect(inUse).rejects.toThrow(/does not support SSL/);
  });

  it('refuse CROSSTALK_PG_SSLMODE beside TLS parameters in DATABASE_URL, naming both', () => {
    expect(() =>
      loadConfig({ DATABASE_URL: `${db.url}?sslmode=disable`, CROSSTALK_PG_SSLMODE: 'verify-full' }),
    ).toThrow(/CROSSTALK_PG_SSLMODE is set and DATABASE_URL has TLS parameters/);
  });

  it('stop the store opening, naming the file, when the CA file cannot be read', async () => {
    const config = loadConfig({
      DATABASE_URL: db.url,
      CROSSTALK_PG_SSLMODE: 'verify-full',
      CROSSTALK_PG_SSL_CA_FILE: '/nonexistent/ca.pem',
    });
    await expect(openStore(config)).rejects.toThrow(/\/nonexistent\/ca\.pem/);
  });
});
