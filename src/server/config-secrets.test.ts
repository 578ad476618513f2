import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_KEYS, loadConfig } from './config';
import { SECRET_KEYS } from './config-schema';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-secrets-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A mounted secret as Kubernetes and Docker write one: a file, here with the newline `echo` leaves. */
function secretFile(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text, { mode: 0o600 });
  return f;
}

/** A value each secret setting accepts, and where loadConfig puts it. */
const SAMPLES: Record<(typeof SECRET_KEYS)[number], [string, (c: ReturnType<typeof loadConfig>) => unknown]> = {
  DATABASE_URL: ['postgres://ct:s3cret-password@db.internal:5432/crosstalk', (c) => c.databaseUrl],
  CROSSTALK_AUDIT_HMAC_KEY: ['audit-key-from-a-mounted-secret-0123456789', (c) => c.auditHmacKey],
  CROSSTALK_PILOT_KEY: ['pilot-key-from-a-mounted-secret-0123456789', (c) => c.pilotKey],
  CROSSTALK_ADMIN_TOKEN: ['admin-token-from-a-mounted-secret-0123456789', (c) => c.adminToken],
  CROSSTALK_METRICS_TOKEN: ['metrics-token-from-a-mounted-secret-0123456789', (c) => c.metrics.token],
};

describe('secrets read from files', () => {
  it('cover every setting named like a key, token, password or credential-bearing URL', () => {
    const secretLike = CONFIG_KEYS.filter(
      (k) => !k.endsWith('_FILE') && /(_KEY|_TOKEN|PASSWORD|SECRET|DATABASE_URL)$/.test(k),
    );
    expect([...SECRET_KEYS].sort()).toEqual(secretLike.sort());
    for (const k of SECRET_KEYS) expect(CONFIG_KEYS).toContain(`${k}_FILE`);
  });

  it.each(SECRET_KEYS)('read %s from <NAME>_FILE, the trailing newline dropped', (key) => {
    const [value, read] = SAMPLES[key];
    const c = loadConfig({ [`${key}_FILE`]: secretFile(`${key}.txt`, `${value}\n`) });
    expect(read(c)).toBe(value);
    // A file written on Windows ends with CRLF; the secret is still the line before it.
    expect(read(loadConfig({ [`${key}_FILE`]: secretFile(`${key}.crlf`, `${value}\r\n`) }))).toBe(value);
  });

  it.each(SECRET_KEYS)('refuse %s set both ways, naming the setting and never its value', (key) => {
    const [value] = SAMPLES[key];
    const file = secretFile(`${key}.both`, `${value}-from-file\n`);
    let message = '';
    try {
      loadConfig({ [key]: value, [`${key}_FILE`]: file });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`${key} and ${key}_FILE are both set`);
    expect(message).not.toContain(value);
  });

  it('refuse a missing or empty secret file, naming the setting and the path only', () => {
    const missing = path.join(dir, 'not-mounted');
    expect(() => loadConfig({ CROSSTALK_AUDIT_HMAC_KEY_FILE: missing })).toThrow(
      `CROSSTALK_AUDIT_HMAC_KEY_FILE: cannot read ${missing} (ENOENT)`,
    );
    const empty = secretFile('empty', '\n');
    expect(() => loadConfig({ CROSSTALK_ADMIN_TOKEN_FILE: empty })).toThrow(
      `CROSSTALK_ADMIN_TOKEN_FILE: ${empty} is empty`,
    );
  });

  it('validate a secret from a file as one set directly, without echoing it', () => {
    const short = 'too-short-for-an-audit-key';
    let message = '';
    try {
      loadConfig({ CROSSTALK_AUDIT_HMAC_KEY_FILE: secretFile('short', `${short}\n`) });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/CROSSTALK_AUDIT_HMAC_KEY must NOT have fewer than 32 characters/);
    expect(message).not.toContain(short);
  });

  it('count as production settings beside development mode, as the same settings given directly do', () => {
    const key = secretFile('audit-dev', `${SAMPLES.CROSSTALK_AUDIT_HMAC_KEY[0]}\n`);
    expect(() => loadConfig({ CROSSTALK_DEV_MODE: 'true', CROSSTALK_AUDIT_HMAC_KEY_FILE: key })).toThrow(
      /production settings are present: CROSSTALK_AUDIT_HMAC_KEY/,
    );
  });
});
