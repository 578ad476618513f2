import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_FILE_NAME } from '../src/store/sqlite';
import { freshPostgresDatabase } from './support/databases';
import {
  buildPrefetch,
  expectOperationOutcome,
  expectValidCdsResponse,
  hookRequest,
  SERVICE_ID,
  startCrosstalk,
} from './support/harness';
import { startTcpProxy } from './support/tcp-proxy';
import { makeKey, type SigningKey, sign } from './support/tokens';

/*
 * The store goes down under a running Crosstalk: PostgreSQL behind a TCP proxy that is cut; SQLite held under
 * an exclusive lock by another process's connection (writers wait out the busy timeout, then fail). Neither is
 * the caller's fault: calls answer 503 with Retry-After, never 401, in production mode (where the JWT's jti
 * is checked against the store) as in development mode (where the audit write is what fails).
 */

const PUBLIC = 'https://cds.example.org';
const ISS = 'https://ehr.example.org';
let key: SigningKey;
let clientsFile: string;
let prefetch: Record<string, unknown>;

beforeAll(async () => {
  key = await makeKey('ES384');
  clientsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-outage-')), 'clients.json');
  fs.writeFileSync(
    clientsFile,
    JSON.stringify({ clients: [{ iss: ISS, jwks: { keys: [key.publicJwk] }, fhirServerOrigins: [] }] }),
  );
  const fhirHost = await startCrosstalk();
  try {
    prefetch = await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-low-ccr');
  } finally {
    await fhirHost.close();
  }
});

interface Outage {
  env: Record<string, string>;
  cut(): Promise<void>;
  restore(): Promise<void>;
  drop(): Promise<void>;
}

const engines: { name: string; open(dataDir: () => string): Promise<Outage> }[] = [
  {
    name: 'PostgreSQL',
    async open() {
      const db = await freshPostgresDatabase();
      const u = new URL(db.url);
      const proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) });
      u.host = `127.0.0.1:${proxy.port}`;
      let down = false;
      return {
        env: { DATABASE_URL: u.toString() },
        async cut() {
          down = true;
          await proxy.cut();
        },
        async restore() {
          if (down) await proxy.restore();
          down = false;
        },
        drop: async () => {
          await proxy.close();
          await db.drop();
        },
      };
    },
  },
  {
    name: 'SQLite',
    async open(dataDir) {
      let holder: Database.Database | undefined;
      return {
        env: {},
        async cut() {
          holder = new Database(path.join(dataDir(), SQLITE_FILE_NAME));
          holder.exec('BEGIN EXCLUSIVE');
        },
        async restore() {
          holder?.exec('ROLLBACK');
          holder?.close();
          holder = undefined;
        },
        async drop() {
          holder?.close();
        },
      };
    },
  },
];

const modes = [
  { name: 'production', env: { CROSSTALK_DEV_MODE: 'false', CROSSTALK_TRUSTED_CLIENTS: '' }, authenticated: true },
  { name: 'development', env: { CROSSTALK_DEV_MODE: 'true' }, authenticated: false },
];

for (const engine of engines) {
  for (const mode of modes) {
    describe(`with the ${engine.name} store down, in ${mode.name} mode`, () => {
      let outage: Outage;
      let ct: Awaited<ReturnType<typeof startCrosstalk>>;
      beforeAll(async () => {
        outage = await engine.open(() => ct.dataDir);
        ct = await startCrosstalk({
          ...mode.env,
          // Development mode refuses production settings (an audit key among them) and keys the hash itself.
          ...(mode.authenticated
            ? {
                CROSSTALK_TRUSTED_CLIENTS: clientsFile,
                PUBLIC_BASE_URL: PUBLIC,
                CROSSTALK_AUDIT_HMAC_KEY: 'store-outage-suite-audit-key-0123456789',
              }
            : {}),
          CROSSTALK_EMBEDDED_FHIR: 'false',
          // SQLite writers wait out a 5 s busy timeout before they fail: the budget leaves room for it.
          CROSSTALK_REQUEST_BUDGET_MS: '15000',
          ...outage.env,
        });
      });
      afterAll(async () => {
        await outage?.restore();
        await ct?.close();
        await outage?.drop();
      });

      const call = async () => {
        const r = request(ct.url).post(`/cds-services/${SERVICE_ID}`).set('content-type', 'application/json');
        const authed = mode.authenticated
          ? r.set(
              'Authorization',
              `Bearer ${await sign({ iss: ISS, aud: `${PUBLIC}/cds-services/${SERVICE_ID}`, key })}`,
            )
          : r;
        return authed.send(hookRequest('demo-low-ccr', { prefetch }));
      };

      it('answers 503 with an OperationOutcome and Retry-After, not 401, and serves again once the store is back', {
        timeout: 30_000,
      }, async () => {
        const ok = await call();
        expect(ok.status).toBe(200);
        expectValidCdsResponse(ok.body);
        await outage.cut();
        try {
          const res = await call();
          expect(res.status).toBe(503);
          expectOperationOutcome(res.body);
          expect(res.body.issue[0].code).toBe('transient');
          expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
          expect(res.body.cards).toBeUndefined();
        } finally {
          await outage.restore();
        }
        const again = await call();
        expect(again.status).toBe(200);
        expectValidCdsResponse(again.body);
        expect(ct.logs.text).not.toContain('"reason":"verifier error"');
      });
    });
  }
}
