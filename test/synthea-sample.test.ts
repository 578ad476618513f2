import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Bundle, Patient, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';

/**
 * The public Synthea sample, as a new user would try it: a Bulk Data export no one here wrote, through `crosstalk
 * calibrate` (the directory as it is) and `crosstalk evaluate` (the same resources as one Bundle).
 */

const SAMPLE = path.resolve(__dirname, 'fixtures/synthea-10');
const NOW = '2026-12-07T00:00:00Z';
const bin = path.resolve(__dirname, '../bin/crosstalk.js');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ct-synthea-'));

const resources: Resource[] = fs
  .readdirSync(SAMPLE)
  .filter((f) => f.endsWith('.ndjson.gz'))
  .flatMap((f) =>
    zlib
      .gunzipSync(fs.readFileSync(path.join(SAMPLE, f)))
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Resource),
  );
const patients = resources.filter((r): r is Patient => r.resourceType === 'Patient');

type Result = {
  patient: string;
  cards: { summary: string }[];
  quiet: { ruleId: string; status: string; reasons: { code: string }[] }[];
};

describe('the public Synthea sample', () => {
  it('is calibrated from the export directory as published, gzipped files and all', () => {
    const out = tmp();
    execFileSync(process.execPath, [bin, 'calibrate', SAMPLE, '--out', out, '--now', NOW], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const calibration = JSON.parse(fs.readFileSync(path.join(out, 'calibration.json'), 'utf8')) as {
      population: { patients: number };
    };
    expect(calibration.population.patients).toBe(patients.length);
    for (const f of ['report.html', 'site-knowledge.json']) expect(fs.existsSync(path.join(out, f))).toBe(true);
  }, 120_000);

  it('gives no card to a patient who died or to a child, and says why for every rule', () => {
    const file = path.join(tmp(), 'bundle.json');
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: resources.map((resource) => ({ resource })),
    };
    fs.writeFileSync(file, JSON.stringify(bundle));
    const results = execFileSync(process.execPath, [bin, 'evaluate', file, '--now', NOW, '--format', 'ndjson'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    })
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Result);
    expect(results).toHaveLength(patients.length);
    const dead = patients.filter((p) => p.deceasedDateTime || p.deceasedBoolean);
    const children = patients.filter((p) => !p.deceasedDateTime && Number(p.birthDate?.slice(0, 4)) > 2026 - 18);
    // The sample has both, or the checks below prove nothing.
    expect(dead.length).toBeGreaterThanOrEqual(3);
    expect(children.length).toBeGreaterThanOrEqual(1);
    const of = (p: Patient) => results.find((r) => r.patient === `Patient/${p.id}`);
    for (const p of dead) {
      expect(of(p)?.cards).toEqual([]);
      expect(of(p)?.quiet.every((q) => q.reasons.some((r) => r.code.startsWith('patient-deceased')))).toBe(true);
    }
    for (const p of children) expect(of(p)?.cards).toEqual([]);
    for (const r of results) expect(r.quiet.every((q) => q.reasons.length > 0)).toBe(true);
  }, 120_000);
});
