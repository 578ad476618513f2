import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSchema } from '../src/config/schemas';
import { DEMO_PATIENTS, demoTransaction } from '../src/demo/patients';

const NOW = '2026-11-25T12:00:00Z';
const bin = path.resolve(__dirname, '../bin/crosstalk.js');

function evaluate(bundle: unknown): {
  patient: string;
  measures: { code: string; value: number }[];
  cards: { extension: { crosstalk: { ruleId: string } } }[];
  quiet: { ruleId: string; status: string; reasons: { code: string }[] }[];
}[] {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-cli-')), 'bundle.json');
  fs.writeFileSync(f, JSON.stringify(bundle));
  return JSON.parse(execFileSync(process.execPath, [bin, 'evaluate', f, '--now', NOW], { encoding: 'utf8' }));
}

// Each CLI run is a Node child process that compiles TypeScript on start: slow on a loaded machine.
const CHILD_PROCESS_MS = 30_000;
let demoOut: ReturnType<typeof evaluate> | undefined;
/** The demo Bundle evaluated once: each CLI run is a child process, costly on a loaded machine. */
const demoEvaluation = () => (demoOut ??= evaluate(demoTransaction(new Date(NOW))));

describe('crosstalk evaluate', () => {
  it(
    'evaluates every patient of a Bundle as patient-view would',
    () => {
      const out = demoEvaluation();
      expect(out.map((r) => r.patient)).toEqual(DEMO_PATIENTS.map((p) => `Patient/${p.id}`));
      for (const p of DEMO_PATIENTS) {
        const r = out.find((x) => x.patient === `Patient/${p.id}`)!;
        expect(r.cards.map((c) => c.extension.crosstalk.ruleId)).toEqual(p.expect.cards);
      }
      const validate = compileSchema('cds-response.schema.json');
      for (const r of out) expect(validate({ cards: r.cards })).toBe(true);
    },
    CHILD_PROCESS_MS,
  );

  it(
    'lists every computable measure even when no card fires',
    () => {
      const normal = demoEvaluation().find((r) => r.patient === 'Patient/demo-normal')!;
      expect(normal.cards).toEqual([]);
      expect(normal.measures.map((m) => m.code)).toEqual([
        'sarcopenia-index',
        'ccr',
        'egfr-cr-2021',
        'egfr-cr-cys-2021',
        'egfr-cys-2012',
      ]);
      expect(normal.measures.find((m) => m.code === 'ccr')!.value).toBeCloseTo(97 / 88.42, 2);
    },
    CHILD_PROCESS_MS,
  );

  it(
    'says why each quiet rule stayed quiet, suppressions with their reason codes',
    () => {
      const out = demoEvaluation();
      for (const p of DEMO_PATIENTS) {
        const r = out.find((x) => x.patient === `Patient/${p.id}`)!;
        for (const [rule, code] of Object.entries(p.expect.suppressed ?? {})) {
          const q = r.quiet.find((x) => x.ruleId === rule);
          expect(q?.status, `${p.id} ${rule}`).toBe('suppressed');
          expect(q?.reasons.map((x) => x.code)).toContain(code);
        }
      }
    },
    CHILD_PROCESS_MS,
  );

  it(
    'follows urn:uuid references in a collection Bundle',
    () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          {
            fullUrl: 'urn:uuid:aaaa',
            resource: { resourceType: 'Patient', id: 'x1', gender: 'female', birthDate: '1940-01-01' },
          },
          {
            resource: {
              resourceType: 'Observation',
              id: 'c1',
              status: 'final',
              subject: { reference: 'urn:uuid:aaaa' },
              code: { coding: [{ system: 'http://loinc.org', code: '2160-0' }] },
              effectiveDateTime: '2026-11-01T08:00:00Z',
              valueQuantity: { value: 0.8, code: 'mg/dL', system: 'http://unitsofmeasure.org' },
            },
          },
        ],
      };
      const [r] = evaluate(bundle);
      expect(r!.cards.map((c) => c.extension.crosstalk.ruleId)).toEqual(['missing-ccr-input']);
    },
    CHILD_PROCESS_MS,
  );

  it(
    'fails with a clear message on a file that is not a Bundle',
    () => {
      const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-cli-')), 'x.json');
      fs.writeFileSync(f, '{"resourceType":"Patient"}');
      expect(() => execFileSync(process.execPath, [bin, 'evaluate', f], { encoding: 'utf8', stdio: 'pipe' })).toThrow(
        /not a FHIR Bundle/,
      );
    },
    CHILD_PROCESS_MS,
  );
});

describe('crosstalk evaluate on records shaped as EHRs send product orders', () => {
  // test/fixtures/ehr-product-orders.json: orders coded by RxNorm product (SCD, SBD, NDC side by side), through a
  // Medication of its own or a contained one, doses in tablets and injections, Epic-style timing and dose types.
  const out = () =>
    evaluate(JSON.parse(fs.readFileSync(path.resolve(__dirname, 'fixtures/ehr-product-orders.json'), 'utf8')));
  let result: ReturnType<typeof evaluate> | undefined;
  const of = (id: string) => (result ??= out()).find((r) => r.patient === `Patient/${id}`)!;

  it(
    'warns for prednisone ordered as "predniSONE 5 MG Oral Tablet" (Medication/…), 1 tablet a day for nine months',
    () => {
      const r = of('ehr-ra-67');
      expect(r.cards.map((c) => c.extension.crosstalk.ruleId)).toEqual(['glucocorticoid-bone']);
      expect(JSON.stringify(r.cards[0])).toMatch(/prednisone 5 mg\/day/);
    },
    CHILD_PROCESS_MS,
  );

  it(
    'recognises androgen deprivation from a leuprolide prefilled-syringe product given as "1 injection"',
    () => {
      expect(of('ehr-prostate-71').cards.map((c) => c.extension.crosstalk.ruleId)).toEqual(['endocrine-therapy-bone']);
    },
    CHILD_PROCESS_MS,
  );

  it(
    'leaves HOMA out when a glipizide extended-release product is on the list',
    () => {
      const q = of('ehr-t2-58').quiet.find((x) => x.ruleId === 'homa-context');
      expect(q).toMatchObject({
        status: 'suppressed',
        reasons: [expect.objectContaining({ code: 'interfering-medication' })],
      });
    },
    CHILD_PROCESS_MS,
  );
});
