import pg from 'pg';
import { MIGRATIONS_TABLE_SQL, type Migration, type SqlEngine, type SqlValue, type Statement, pendingMigrations } from './engine';

// Any constant works; it only has to be the same for every Crosstalk replica migrating this database.
const MIGRATION_LOCK_KEY = 7_207_301_505;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/*
 * Counts and epoch-millisecond times are BIGINT, which pg hands back as strings to protect values
 * beyond 2^53. Ours stay far below that (epoch ms until the year 287396), so numbers are safe and keep
 * the rows the same shape as SQLite's.
 */
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8_OID) return (v: string) => Number(v);
    if (oid === NUMERIC_OID) return (v: string) => Number.parseFloat(v);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
};

/** `?` placeholders become `$1, $2, …`. Our SQL holds no `?` inside string literals. */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export interface PostgresOptions {
  /** Largest number of connections this replica opens. */
  maxConnections?: number;
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
}

export function openPostgres(url: string, opts: PostgresOptions = {}): SqlEngine {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 3000,
    idleTimeoutMillis: 30_000,
    // A server that stops answering mid-query (not refusing: silent) must not hold a call or a feedback request forever.
    query_timeout: opts.queryTimeoutMs ?? 10_000,
    application_name: 'crosstalk',
    types,
  } as pg.PoolConfig);
  // An idle connection that the server drops emits 'error' on the pool; unhandled, it would end the process.
  // The next query simply opens a new connection, and readiness reports the server if it stays away.
  pool.on('error', () => undefined);
  let closed = false;

  // A server whose default is synchronous_commit=off acknowledges commits before they are on disk.
  let forceSyncCommit: Promise<boolean> | undefined;
  const needsSyncCommit = (client: pg.PoolClient) =>
    (forceSyncCommit ??= client.query<{ synchronous_commit: string }>('SHOW synchronous_commit').then(
      (r) => r.rows[0]?.synchronous_commit === 'off',
      () => {
        forceSyncCommit = undefined;
        return false;
      },
    ));

  /*
   * The pool listens for 'error' only on idle clients. A checked-out client whose connection drops between
   * queries (the server restarts, a proxy cuts it) emits 'error' with no listener, which would end the process.
   * Every checkout listens for the time it is held; the error marks the client broken so release() destroys it,
   * and the query in progress (if any) rejects on its own.
   */
  async function checkout(): Promise<{ client: pg.PoolClient; failure: () => Error | undefined; release: (err?: Error) => void }> {
    const client = await pool.connect();
    let failure: Error | undefined;
    const onError = (e: Error) => {
      failure ??= e;
    };
    client.on('error', onError);
    return {
      client,
      failure: () => failure,
      release(err?: Error) {
        client.removeListener('error', onError);
        client.release(err ?? failure);
      },
    };
  }

  async function inTransaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const held = await checkout();
    const client = held.client;
    let broken: Error | undefined;
    try {
      const sync = await needsSyncCommit(client);
      await client.query('BEGIN');
      if (sync) await client.query('SET LOCAL synchronous_commit TO on');
      try {
        const out = await fn(client);
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch((re: Error) => {
          broken = re;
        });
        throw e;
      }
    } catch (e) {
      broken ??= e instanceof Error && !(e instanceof pg.DatabaseError) ? e : undefined;
      throw e;
    } finally {
      // A connection that failed below the SQL level is destroyed rather than handed to the next caller.
      held.release(broken);
    }
  }

  return {
    kind: 'postgres',
    async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      const r = await pool.query(numberPlaceholders(sql), params as SqlValue[]);
      return r.rows as T[];
    },
    transaction(statements: readonly Statement[]) {
      return inTransaction(async (c) => {
        const counts: number[] = [];
        for (const s of statements) counts.push((await c.query(numberPlaceholders(s.sql), (s.params ?? []) as SqlValue[])).rowCount ?? 0);
        return counts;
      });
    },
    async migrate(migrations: readonly Migration[]) {
      const held = await checkout();
      const client = held.client;
      const applied: number[] = [];
      try {
        // Replicas starting together: one migrates, the others wait and then find nothing to do.
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        try {
          await client.query(MIGRATIONS_TABLE_SQL);
          const done = (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version);
          for (const m of pendingMigrations(migrations, done)) {
            await client.query('BEGIN');
            try {
              await client.query(m.sql);
              await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
              await client.query('COMMIT');
            } catch (e) {
              await client.query('ROLLBACK');
              throw e;
            }
            applied.push(m.version);
          }
        } finally {
          // On a dead connection the unlock fails too; the server drops the session's lock with the connection.
          await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch((e: Error) => {
            if (!held.failure()) throw e;
          });
        }
      } finally {
        held.release();
      }
      return applied;
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      if (!closed) {
        closed = true;
        await pool.end();
      }
    },
  };
}
