import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, sql } from 'kysely';
import pg from 'pg';
import { type Migration, migrateToLatest, type SqlEngine } from './engine';
import type { Database } from './schema';

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

/** libpq's sslmode values that Crosstalk takes (CROSSTALK_PG_SSLMODE). */
export type PgSslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export interface PostgresOptions {
  /** Largest number of connections this replica opens. */
  maxConnections?: number;
  connectTimeoutMs?: number;
  /** The server's statement_timeout for every connection of the pool; the client gives up 2 s after it. */
  statementTimeoutMs?: number;
  /** Unset: whatever the URL says. */
  sslmode?: PgSslMode;
  /** PEM CA bundle that verify-ca and verify-full check the server certificate against. */
  sslCaFile?: string;
}

// After the server's statement_timeout has had its chance: only a server that has fallen silent gets here.
const CLIENT_GRACE_MS = 2000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

/** libpq's sslmode as node's TLS options (pg passes them to tls.connect). */
export function tlsOptions(o: Pick<PostgresOptions, 'sslmode' | 'sslCaFile'>): false | ConnectionOptions | undefined {
  if (!o.sslmode) return undefined;
  if (o.sslmode === 'disable') return false;
  const ca = o.sslCaFile ? fs.readFileSync(o.sslCaFile, 'utf8') : undefined;
  if (o.sslmode === 'require') return { rejectUnauthorized: false };
  return {
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    // verify-ca: the chain is checked, the host name is not.
    ...(o.sslmode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
}

/*
 * pg's pool listens for 'error' only on idle clients. A checked-out client whose connection drops between
 * queries (the server restarts, a proxy cuts it) emits 'error' with no listener, which would end the process.
 * Kysely checks clients out through this: each listens for the time it is held, and a client that failed is
 * destroyed on release rather than handed to the next caller (the query in progress, if any, rejects on its own).
 */
function guarded(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let failure: Error | undefined;
      const onError = (e: Error) => {
        failure ??= e;
      };
      client.on('error', onError);
      const release = client.release.bind(client);
      client.release = (destroy?: boolean | Error) => {
        client.removeListener('error', onError);
        release(destroy || failure);
      };
      return client;
    },
    end: () => pool.end(),
    options: pool.options,
  };
}

export function openPostgres(url: string, opts: PostgresOptions = {}): SqlEngine {
  const statementTimeoutMs = opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const ssl = tlsOptions(opts);
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 3000,
    idleTimeoutMillis: 30_000,
    // Sent at connection start-up: the server cancels a runaway statement and the connection stays usable.
    statement_timeout: statementTimeoutMs,
    // A server that stops answering mid-query (not refusing: silent) must not hold a call or a feedback request forever.
    query_timeout: statementTimeoutMs + CLIENT_GRACE_MS,
    ...(ssl !== undefined ? { ssl } : {}),
    application_name: 'crosstalk',
    types,
  } as pg.PoolConfig);
  // An idle connection that the server drops emits 'error' on the pool; unhandled, it would end the process.
  // The next query simply opens a new connection, and readiness reports the server if it stays away.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guarded(pool) }) });
  let closed = false;

  // A server whose default is synchronous_commit=off acknowledges commits before they are on disk.
  let forceSyncCommit: Promise<boolean> | undefined;
  const needsSyncCommit = (trx: Kysely<Database>) =>
    (forceSyncCommit ??= sql<{ synchronous_commit: string }>`SHOW synchronous_commit`.execute(trx).then(
      (r) => r.rows[0]?.synchronous_commit === 'off',
      () => {
        forceSyncCommit = undefined;
        return false;
      },
    ));

  return {
    kind: 'postgres',
    db,
    transaction(statements) {
      return db.transaction().execute(async (trx) => {
        if (await needsSyncCommit(trx)) await sql`SET LOCAL synchronous_commit TO on`.execute(trx);
        const counts: number[] = [];
        for (const s of statements) counts.push(Number((await trx.executeQuery(s)).numAffectedRows ?? 0));
        return counts;
      });
    },
    // Replicas starting together: one migrates under Kysely's advisory lock, the others wait and then find nothing to do.
    migrate: (migrations: Readonly<Record<string, Migration>>) => migrateToLatest(db, migrations),
    async ping() {
      await sql`SELECT 1`.execute(db);
    },
    async close() {
      if (!closed) {
        closed = true;
        await db.destroy();
      }
    },
  };
}
