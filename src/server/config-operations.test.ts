import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/knowledge-file';
import { PROJECT_ROOT } from '../config/paths';
import { MIGRATIONS } from '../store/migrations';
import { SQLITE_FILE_NAME } from '../store/sqlite';
import { loadConfig } from './config';

// A valid trusted-clients file, so production-mode start-up gets as far as the audit key.
const TRUSTED = path.join(PROJECT_ROOT, 'deploy/trusted-clients.example.json');

import { demoPlugin } from '../demo/plugin';
import { createLogger } from './logger';
import { start } from './start';

class Lines {
  readonly lines: string[] = [];
  write(s: string): void {
    this.lines.push(s);
  }
}

const made: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-cfg-'));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

describe('configuration of the store, audit and admin endpoints', () => {
  it('defaults to SQLite in ./data, a year of retention, an hourly purge, no admin endpoint', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ dataDir: './data', retentionDays: 365, purgeIntervalMinutes: 60 });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
    expect(c.auditHmacKey).toBeUndefined();
  });

  it('refuses invalid values, naming the key and never echoing a secret', () => {
    const secret = 'short-secret';
    const cases: [Record<string, string>, string][] = [
      [{ DATABASE_URL: 'mysql://db.example.org/crosstalk' }, 'DATABASE_URL'],
      [{ CROSSTALK_AUDIT_HMAC_KEY: secret }, 'CROSSTALK_AUDIT_HMAC_KEY'],
      [{ CROSSTALK_ADMIN_TOKEN: secret }, 'CROSSTALK_ADMIN_TOKEN'],
      [{ CROSSTALK_RETENTION_DAYS: '0' }, 'CROSSTALK_RETENTION_DAYS'],
      [{ CROSSTALK_PURGE_INTERVAL_MINUTES: 'hourly' }, 'CROSSTALK_PURGE_INTERVAL_MINUTES'],
    ];
    for (const [env, key] of cases) {
      let message = '';
      try {
        loadConfig(env);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(key);
      expect(message).not.toContain(secret);
    }
  });

  it('will not start outside demo mode without an audit key, and says which key to set', async () => {
    const dir = path.join(tmp(), 'data');
    const err = await start(
      { PORT: '0', CROSSTALK_EMBEDDED_FHIR: 'false', CROSSTALK_DATA_DIR: dir, CROSSTALK_TRUSTED_CLIENTS: TRUSTED },
      createLogger('silent'),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/CROSSTALK_AUDIT_HMAC_KEY is required outside development mode/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('in demo mode starts without an audit key, warning that hashes will not match across restarts', async () => {
    const dir = path.join(tmp(), 'data');
    const logs = new Lines();
    const running = await start(
      { PORT: '0', CROSSTALK_DEV_MODE: 'true', CROSSTALK_EMBEDDED_FHIR: 'true', CROSSTALK_DATA_DIR: dir },
      createLogger('info', logs),
      [demoPlugin],
    );
    await running.close();
    expect(logs.lines.join('')).toContain('CROSSTALK_AUDIT_HMAC_KEY is not set');
  });

  it('refuses to serve the embedded demo FHIR server in production mode, unless development mode is explicit', async () => {
    const dir = path.join(tmp(), 'data');
    const err = await start(
      {
        PORT: '0',
        CROSSTALK_EMBEDDED_FHIR: 'true',
        CROSSTALK_DATA_DIR: dir,
        CROSSTALK_TRUSTED_CLIENTS: TRUSTED,
        CROSSTALK_AUDIT_HMAC_KEY: 'k'.repeat(32),
      },
      createLogger('silent'),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/CROSSTALK_EMBEDDED_FHIR=true .* needs CROSSTALK_DEV_MODE=true/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  const withKey = (key: Record<string, unknown>) => {
    const f = path.join(tmp(), 'clients.json');
    fs.writeFileSync(
      f,
      JSON.stringify({
        clients: [
          { iss: 'https://ehr.example.org', jwks: { keys: [key] }, fhirServerOrigins: ['https://ehr.example.org'] },
        ],
      }),
    );
    return {
      PORT: '0',
      CROSSTALK_DATA_DIR: path.join(tmp(), 'data'),
      CROSSTALK_TRUSTED_CLIENTS: f,
      CROSSTALK_AUDIT_HMAC_KEY: 'k'.repeat(32),
    };
  };
  const P384 = { kty: 'EC', crv: 'P-384', kid: 'ehr-2026', alg: 'ES384' };

  it("stops start-up, naming the issuer and the key, when a trusted client's inline key cannot be imported", async () => {
    // x and y are base64url but not a point on P-384: a key a verifier could never use.
    const err = await start(withKey({ ...P384, x: 'AAAA', y: 'AAAA' }), createLogger('silent')).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/issuer https:\/\/ehr\.example\.org: key "ehr-2026" cannot be imported/);
  });

  it('stops start-up when a trusted client lists a private key instead of its public key', async () => {
    const err = await start(withKey({ ...P384, x: 'x', y: 'y', d: 'd' }), createLogger('silent')).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/key "ehr-2026" is a private or symmetric key/);
  });

  it('creates the data directory and a WAL-mode SQLite database on first start', async () => {
    const dir = path.join(tmp(), 'nested', 'data');
    const running = await start(
      { PORT: '0', CROSSTALK_DEV_MODE: 'true', CROSSTALK_DATA_DIR: dir },
      createLogger('silent'),
    );
    await running.close();
    const db = new Database(path.join(dir, SQLITE_FILE_NAME), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT name FROM kysely_migration ORDER BY name').all()).toEqual(
        Object.keys(MIGRATIONS)
          .sort()
          .map((name) => ({ name })),
      );
    } finally {
      db.close();
    }
  });

  it('stops start-up with a clear message when the store cannot be opened', async () => {
    const err = await start(
      {
        PORT: '0',
        CROSSTALK_DEV_MODE: 'true',
        DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      },
      createLogger('silent'),
    ).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^cannot open the store \(PostgreSQL at 127\.0\.0\.1:1\/none\)/);
  });
});
