import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresDatabase } from './support/databases';
import { expectValidCdsResponse, hookRequest, SERVICE_ID, startCrosstalk } from './support/harness';

const bin = path.resolve(__dirname, '../bin/crosstalk.js');
const FROM = new Date(Date.now() - 86_400_000).toISOString();
const TO = new Date(Date.now() + 86_400_000).toISOString();

function crosstalk(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Two low-CCR cards (one accepted, one overridden as "patient-declined") and one missing-input card without feedback. */
async function traffic(env: Record<string, string>): Promise<void> {
  const ct = await startCrosstalk(env);
  try {
    const cards = [];
    for (const p of ['demo-low-ccr', 'demo-low-ccr', 'demo-missing-cystatin']) {
      const res = await request(ct.url)
        .post(`/cds-services/${SERVICE_ID}`)
        .set('content-type', 'application/json')
        .send(hookRequest(p, { fhirServer: `${ct.url}/fhir` }))
        .expect(200);
      expectValidCdsResponse(res.body);
      cards.push(res.body.cards[0]);
    }
    const [a, b] = cards;
    await request(ct.url)
      .post(`/cds-services/${SERVICE_ID}/feedback`)
      .set('content-type', 'application/json')
      .send({
        feedback: [
          {
            card: a.uuid,
            outcome: 'accepted',
            acceptedSuggestions: [{ id: a.suggestions[0].uuid }],
            outcomeTimestamp: new Date().toISOString(),
          },
          {
            card: b.uuid,
            outcome: 'overridden',
            overrideReason: {
              reason: { system: 'urn:crosstalk:codesystem:override-reason', code: 'patient-declined' },
            },
            outcomeTimestamp: new Date().toISOString(),
          },
        ],
      })
      .expect(200);
  } finally {
    await ct.close();
  }
}

describe('crosstalk report on the SQLite store', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-report-'));
  beforeAll(async () => {
    await traffic({ CROSSTALK_DATA_DIR: dataDir });
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints a table: one row per rule, with fired, accepted, overridden, reasons and median latency', () => {
    const r = crosstalk(['report', '--from', FROM, '--to', TO], { CROSSTALK_DATA_DIR: dataDir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const row = (rule: string) =>
      (r.stdout.split('\n').find((l) => l.includes(` ${rule} `)) ?? '')
        .split('│')
        .map((c) => c.trim())
        .filter(Boolean);
    const header = row('rule');
    expect(header).toEqual([
      'period',
      'rule',
      'calls',
      'fired',
      'fired /1000 calls',
      'would have shown',
      'would have shown /1000 calls',
      'suppressed',
      'accepted',
      'overridden',
      'accepted %',
      'median ms',
      'top override reasons',
      'suppression reasons',
    ]);
    // Three calls each ran every patient-view rule; low-CCR fired in two of them.
    const ccr = row('low-ccr');
    expect(ccr.slice(1, 11)).toEqual(['low-ccr', '3', '2', '666.7', '0', '0', '0', '1', '1', '50%']);
    expect(Number(ccr[11])).toBeGreaterThan(0);
    expect(ccr[12]).toBe('patient-declined ×1');
    expect(row('missing-ccr-input').slice(1, 11)).toEqual([
      'missing-ccr-input',
      '3',
      '1',
      '333.3',
      '0',
      '0',
      '0',
      '0',
      '0',
      '0%',
    ]);
  });

  it('splits by day on request', () => {
    const r = crosstalk(['report', '--from', FROM, '--to', TO, '--interval', 'day', '--json'], {
      CROSSTALK_DATA_DIR: dataDir,
    });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.interval).toBe('day');
    const ccr = report.rules.filter((x: { ruleId: string }) => x.ruleId === 'low-ccr');
    expect(ccr).toHaveLength(1);
    expect(ccr[0].periodStart).toBe(new Date(Date.parse(FROM) + 86_400_000).toISOString());
  });

  it('says so, and creates nothing, when there is no store where it is told to look', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-empty-'));
    const r = crosstalk(['report'], { CROSSTALK_DATA_DIR: empty });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /there is no Crosstalk database at .*crosstalk\.db; set CROSSTALK_DATA_DIR or DATABASE_URL/,
    );
    expect(fs.readdirSync(empty)).toEqual([]);
    fs.rmSync(empty, { recursive: true, force: true });
  });

  it('refuses a malformed query with a message naming the option', () => {
    const r = crosstalk(['report', '--interval', 'month'], { CROSSTALK_DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/interval must be equal to one of the allowed values/);
  });
});

describe('crosstalk report on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  beforeAll(async () => {
    db = await freshPostgresDatabase();
    await traffic({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('prints the same report as JSON', () => {
    const r = crosstalk(['report', '--from', FROM, '--to', TO, '--json'], { DATABASE_URL: db.url });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.rules.find((x: { ruleId: string }) => x.ruleId === 'low-ccr')).toMatchObject({
      fired: 2,
      accepted: 1,
      overridden: 1,
      topOverrideReasons: [{ code: 'patient-declined', display: 'Patient declined', count: 1 }],
    });
  });
});
